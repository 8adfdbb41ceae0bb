"""Rules on an accuracy directory: the figure meets the target, the log is truncated and its hash recorded."""

from __future__ import annotations

import re
from pathlib import Path

from msb.descriptions.rounds import AccuracyRule, ModelRules, RoundProfile
from msb.submission.filelists import file_list_findings
from msb.submission.findings import Finding, error, warning
from msb.submission.performance_rules import loadgen_error_findings, read_log
from msb.submission.truncate import ACCURACY_LOG, ACCURACY_TXT, recorded_hash

TRUNCATE_FIX = "truncate it (msb.submission.truncate): keeps 4096 characters each end and records hash= in accuracy.txt"


def read_accuracy(path: Path, rule: AccuracyRule) -> float | None:
    """The figure accuracy.txt reports (percent), or None when no line matches the round's pattern."""
    if not path.is_file():
        return None
    pattern = re.compile(rule.pattern)
    for line in path.read_text(encoding="utf-8").splitlines():
        match = pattern.search(line)
        if match:
            return float(match.group(1))
    return None


def accuracy_findings(directory: Path, model: ModelRules, profile: RoundProfile, strict: bool = True) -> list[Finding]:
    """File list, target (an error in closed, a warning in open), hash and truncation, LoadGen errors."""
    files = profile.files
    findings = file_list_findings(directory, files.accuracy, ignored=files.ignored)
    if not directory.is_dir():
        return findings
    txt = directory / ACCURACY_TXT
    if txt.is_file():
        findings += _target_findings(txt, model.accuracy, strict)
        if recorded_hash(txt) is None:
            findings.append(error(txt, "no hash= line: the accuracy log was not truncated", TRUNCATE_FIX))
    log = directory / ACCURACY_LOG
    if log.is_file() and log.stat().st_size > profile.max_accuracy_log_bytes:
        findings.append(
            error(
                log,
                f"log is {log.stat().st_size} bytes: not truncated (limit {profile.max_accuracy_log_bytes})",
                TRUNCATE_FIX,
            )
        )
    detail = directory / "mlperf_log_detail.txt"
    if detail.is_file():
        parsed, problems = read_log(detail)
        findings += problems
        if parsed is not None:
            findings += loadgen_error_findings(parsed)
            total = parsed.value("qsl_reported_total_count")
            if profile.accuracy_run_covers_dataset and total != model.dataset_size:
                findings.append(
                    error(
                        detail,
                        f"run covered {total} samples; the {model.name} dataset has {model.dataset_size}",
                        "run the accuracy pass over the whole validation set (no dataset count limit)",
                    )
                )
    return findings


def _target_findings(txt: Path, rule: AccuracyRule, strict: bool) -> list[Finding]:
    value = read_accuracy(txt, rule)
    if value is None:
        return [
            error(
                txt,
                f"no {rule.metric} line matching {rule.pattern!r}",
                "write the accuracy script's output into accuracy.txt",
            )
        ]
    if value < rule.target:
        # The open division publishes results below the target; closed does not.
        make = error if strict else warning
        return [
            make(
                txt,
                f"{rule.metric} {value:.3f}% is below the target {rule.target:.3f}%"
                f" ({rule.fraction:g} of {rule.reference:g}%)",
                "fix the model or preprocessing; a closed result must reach the target",
            )
        ]
    return []
