"""Rules on one LoadGen run's detail log: validity, errors, seeds, sample counts, duration and query counts.

Used for the performance run of each result and for each compliance run, as the round's checker does.
"""

from __future__ import annotations

from pathlib import Path

from msb.descriptions.rounds import ModelRules, RoundProfile
from msb.submission.filelists import file_list_findings
from msb.submission.findings import Finding, error
from msb.submission.mlperf_log import DetailLog, DetailLogError, read_detail_log


def read_log(path: Path) -> tuple[DetailLog | None, list[Finding]]:
    try:
        return read_detail_log(path), []
    except DetailLogError as exc:
        return None, [error(path, str(exc), "rerun the LoadGen test; the detail log must be LoadGen's own")]


def loadgen_error_findings(log: DetailLog) -> list[Finding]:
    """One finding per record LoadGen flagged `is_error`."""
    return [
        error(
            log.path,
            f"LoadGen logged an error: {message}",
            "fix the cause and rerun; errors invalidate the run",
        )
        for message in log.errors()
    ]


def seed_findings(log: DetailLog, profile: RoundProfile) -> list[Finding]:
    findings = []
    for key, expected in profile.seeds.as_dict().items():
        found = log.value(f"effective_{key}")
        if found != expected:
            findings.append(
                error(
                    log.path,
                    f"{key} is {found}, round {profile.name} requires {expected}",
                    f"run with {profile.loadgen} and never override the seeds in user.conf",
                )
            )
    return findings


def performance_findings(log: DetailLog, model: ModelRules, scenario: str, profile: RoundProfile) -> list[Finding]:
    """Everything that makes a performance run not valid for submission in this round."""
    path = log.path
    findings = loadgen_error_findings(log) + seed_findings(log, profile)
    validity = log.value("result_validity")
    if validity != "VALID":
        findings.append(
            error(
                path,
                f"performance result is {validity or 'missing'}, not VALID",
                "read mlperf_log_summary.txt for the failed constraint, adjust user.conf targets and rerun",
            )
        )
    effective = log.value("effective_scenario")
    if effective != scenario:
        findings.append(
            error(
                path,
                f"log is for scenario {effective}, directory says {scenario}",
                "move the run where it belongs",
            )
        )
    findings += _count_findings(log, model, scenario, profile)
    if scenario in profile.early_stopping_scenarios and log.value("early_stopping_met") is not True:
        findings.append(
            error(
                path,
                f"early stopping condition not met: {log.value('early_stopping_result')}",
                "run longer (more queries) so the early-stopping estimate holds",
            )
        )
    bound = model.server_target_latency_ns
    # A model without a Server scenario in the round has no bound (its Server run is refused elsewhere).
    if scenario == "Server" and bound is not None:
        latency = log.value("effective_target_latency_ns")
        if not isinstance(latency, int) or latency > bound:
            findings.append(
                error(
                    path,
                    f"target latency {latency} ns exceeds the bound, {bound} ns",
                    f"set {model.name}.Server.target_latency no higher than the round's bound",
                )
            )
    return findings


def _count_findings(log: DetailLog, model: ModelRules, scenario: str, profile: RoundProfile) -> list[Finding]:
    path = log.path
    findings = []
    sample_count = log.value("effective_performance_sample_count")
    if not isinstance(sample_count, int) or sample_count < model.performance_sample_count:
        findings.append(
            error(
                path,
                f"performance sample count {sample_count} is below {model.performance_sample_count}",
                "do not override performance_sample_count below the round's value",
            )
        )
    duration = log.value("effective_min_duration_ms")
    if not isinstance(duration, int) or duration < profile.min_duration_ms:
        findings.append(
            error(
                path,
                f"shortened run: min_duration {duration} ms is below {profile.min_duration_ms} ms;"
                " not valid for submission",
                "drop the min_duration override (and any --short/--smoke option) and rerun",
            )
        )
    # Early-stopping scenarios size themselves; only the others have a fixed minimum query count.
    required_queries = model.min_query_count.get(scenario)
    queries = log.value("effective_min_query_count")
    fixed_length = scenario not in profile.early_stopping_scenarios
    if fixed_length and required_queries is not None and (not isinstance(queries, int) or queries < required_queries):
        findings.append(
            error(
                path,
                f"shortened run: min_query_count {queries} is below {required_queries}; not valid to submit",
                "drop the min_query_count override and rerun",
            )
        )
    if scenario == "Offline":
        per_query = log.value("effective_samples_per_query")
        if not isinstance(per_query, int) or per_query < model.offline_min_samples_per_query:
            findings.append(
                error(
                    path,
                    f"shortened run: Offline query holds {per_query} samples, below"
                    f" {model.offline_min_samples_per_query}; not valid for submission",
                    "drop the sample count override and rerun",
                )
            )
    return findings


def performance_run_findings(
    run: Path, required: tuple[str, ...] | list[str], model: ModelRules, scenario: str, profile: RoundProfile
) -> list[Finding]:
    """One performance run folder (a result's run_1 or a compliance test's): its files, then its detail log."""
    files = profile.files
    findings = file_list_findings(run, required, files.performance_optional, files.ignored)
    detail = run / "mlperf_log_detail.txt"
    if detail.is_file():
        log, problems = read_log(detail)
        findings += problems
        if log is not None:
            findings += performance_findings(log, model, scenario, profile)
    return findings
