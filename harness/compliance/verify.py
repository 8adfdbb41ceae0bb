"""The verification of MLPerf compliance tests TEST01 and TEST04, worded as the round's official scripts word it.

Each check compares the compliance run's logs with the submission's own results and returns the text of
`verify_accuracy.txt` or `verify_performance.txt`; the submission checker looks for a line `TEST PASS`.
Thresholds and log fields are those of mlcommons/inference v5.1 compliance/nvidia/TEST01 and TEST04.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.results.loadgen_logs import parse_detail

PASS = "TEST PASS"
COMPLIANCE_TESTS = ("TEST01", "TEST04")
# TEST01 (detail log): the scenario's headline figure, compared within +-10 % (20 % for short latencies).
_DETAIL_RESULT_FIELD = {
    "Offline": "result_samples_per_second",
    "SingleStream": "early_stopping_latency_ss",
    "MultiStream": "early_stopping_latency_ms",
    "Server": "result_completed_samples_per_sec",
}
# TEST04 (summary log): the line holding the figure; latencies (ns) become rates as 1e9 / latency.
_SUMMARY_RESULT_LINE = {
    "Offline": re.compile(r"^Samples per second\s*:"),
    "SingleStream": re.compile(r"^.*Early stopping (90th|90\.0th|99\.9th) percentile estimate"),
    "MultiStream": re.compile(r"^.*Early stopping (99th|99\.0th) percentile estimate"),
    "Server": re.compile(r"^Completed samples per second\s*:"),
}


class ComplianceError(ValueError):
    """A log the verification needs is missing or unreadable; the message names it and the fix."""


@dataclass(frozen=True)
class Verification:
    """One verification's verdict and the text written to its verify_*.txt."""

    passed: bool
    text: str


def verify_accuracy(reference_log: Path, test_log: Path) -> Verification:
    """TEST01: every logged response of the compliance run equals the accuracy run's for the same sample.

    Payloads are compared whole (the official script's line-by-line mode); a sample the accuracy run did not
    log counts as missing, not as a mismatch, as in the official script.
    """
    reference = _read_accuracy_log(reference_log)
    test = _read_accuracy_log(test_log)
    payloads: dict[int, str] = {}
    duplicates = reference_mismatches = 0
    for entry in reference:
        index, data = int(entry["qsl_idx"]), str(entry["data"]).lower()
        if index in payloads:
            duplicates += 1
            reference_mismatches += int(payloads[index] != data)
        else:
            payloads[index] = data
    matched = mismatched = missing = 0
    for entry in test:
        index = int(entry["qsl_idx"])
        if index not in payloads:
            missing += 1
            continue
        matched += 1
        mismatched += int(payloads[index] != str(entry["data"]).lower())
    passed = mismatched == 0 and matched > 0
    lines = [
        "Verifying accuracy.",
        f"num_acc_log_entries = {len(reference)}",
        f"num_acc_log_duplicate_keys = {duplicates}",
        f"num_acc_log_data_mismatch = {reference_mismatches}",
        f"num_perf_log_entries = {len(test)}",
        f"num_perf_log_qsl_idx_match = {matched}",
        f"num_perf_log_data_mismatch = {mismatched}",
        f"num_missing_qsl_idxs = {missing}",
        PASS if passed else "TEST FAIL",
    ]
    return Verification(passed, "\n".join(lines) + "\n")


def baseline_entries(reference_log: Path, test_log: Path) -> list[dict[str, object]]:
    """The accuracy run's responses for the samples the compliance run logged (the official baseline log)."""
    wanted = {int(entry["qsl_idx"]) for entry in _read_accuracy_log(test_log)}
    return [entry for entry in _read_accuracy_log(reference_log) if int(entry["qsl_idx"]) in wanted]


def verify_performance_test01(reference_detail: Path, test_detail: Path) -> Verification:
    """TEST01: both runs VALID, same scenario (and Server latency bound), headline figures within the threshold."""
    reference, test = read_detail(reference_detail), read_detail(test_detail)
    lines = ["Verifying performance."]
    for log, path in ((reference, reference_detail), (test, test_detail)):
        if log.get("result_validity") != "VALID":
            return Verification(False, "\n".join([*lines, f"TEST FAIL: Invalid results in {path}"]) + "\n")
    scenario = str(reference.get("effective_scenario"))
    if test.get("effective_scenario") != scenario or scenario not in _DETAIL_RESULT_FIELD:
        return Verification(False, "\n".join([*lines, "TEST FAIL: Test and reference scenarios do not match!"]) + "\n")
    if scenario == "Server" and test.get("effective_target_latency_ns") != reference.get("effective_target_latency_ns"):
        return Verification(False, "\n".join([*lines, "TEST FAIL: Server target latency mismatch"]) + "\n")
    field = _DETAIL_RESULT_FIELD[scenario]
    reference_score, test_score = _number(reference, field, reference_detail), _number(test, field, test_detail)
    threshold = _threshold(scenario, reference_score)
    passed = reference_score * (1 - threshold) <= test_score <= reference_score * (1 + threshold)
    lines += [f"Reference score = {reference_score}", f"Test score = {test_score}"]
    lines.append(PASS if passed else "TEST FAIL: Test score invalid")
    return Verification(passed, "\n".join(lines) + "\n")


def verify_performance_test04(reference_summary: Path, test_summary: Path) -> Verification:
    """TEST04: the run that issues one sample over and over may not be faster than the submission run."""
    lines = ["Verifying performance."]
    scores = []
    for path, name in ((reference_summary, "Reference"), (test_summary, "Test")):
        scenario, score, validity = _read_summary(path)
        if validity == "INVALID":
            return Verification(False, "\n".join([*lines, f"TEST FAIL: {name} results are invalid"]) + "\n")
        scores.append((scenario, score))
    (reference_scenario, reference_score), (test_scenario, test_score) = scores
    if reference_scenario != test_scenario:
        return Verification(False, "\n".join([*lines, "Test and reference scenarios do not match!"]) + "\n")
    threshold = _threshold(reference_scenario, reference_score)
    passed = test_score < reference_score * (1 + threshold)
    lines += [f"reference score = {reference_score}", f"test score = {test_score}"]
    lines.append(PASS if passed else "TEST FAIL: Test score invalid")
    return Verification(passed, "\n".join(lines) + "\n")


def _threshold(scenario: str, reference_score: float) -> float:
    # Short single-/multi-stream latencies vary more run to run: the official scripts relax 10 % to 20 %.
    relaxed = (scenario == "SingleStream" and reference_score <= 200000) or (
        scenario == "MultiStream" and reference_score <= 1600000
    )
    return 0.20 if relaxed else 0.10


def _read_accuracy_log(path: Path) -> list[dict[str, Any]]:  # JSON values, as LoadGen wrote them
    try:
        entries = json.loads(path.read_text())
    except OSError as error:
        raise ComplianceError(f"cannot read accuracy log {path} ({error.strerror})") from error
    except json.JSONDecodeError as error:
        raise ComplianceError(f"{path} is not a LoadGen accuracy log ({error}); rerun the run that wrote it") from error
    if not isinstance(entries, list) or not all(
        isinstance(e, dict) and {"qsl_idx", "data"} <= e.keys() for e in entries
    ):
        raise ComplianceError(f"{path} is not a LoadGen accuracy log (a list of qsl_idx/data entries)")
    return entries


def read_detail(path: Path) -> dict[str, object]:
    """The last value of each key of an mlperf_log_detail.txt."""
    try:
        text = path.read_text()
    except OSError as error:
        raise ComplianceError(f"cannot read {path} ({error.strerror})") from error
    return parse_detail(text)  # a line LoadGen cut off is skipped; the keys verified are on whole lines


def _read_summary(path: Path) -> tuple[str, float, str]:
    """Scenario, headline score (latencies as 1e9 / ns) and validity of an mlperf_log_summary.txt."""
    try:
        text = path.read_text()
    except OSError as error:
        raise ComplianceError(f"cannot read {path} ({error.strerror})") from error
    scenario = validity = ""
    score: float | None = None
    for line in text.splitlines():
        key, _, value = (part.strip() for part in line.partition(":"))
        if key == "Scenario":
            scenario = value
        elif key == "Result is":
            validity = value
        elif scenario in _SUMMARY_RESULT_LINE and _SUMMARY_RESULT_LINE[scenario].match(line.strip()):
            figure = float(line.split(": ", 1)[1])
            score = 1e9 / figure if scenario in ("SingleStream", "MultiStream") else figure
    if score is None:
        raise ComplianceError(f"{path} states no {scenario or 'scenario'} result; rerun the run that wrote it")
    return scenario, score, validity


def _number(log: dict[str, object], key: str, path: Path) -> float:
    value = log.get(key)
    if not isinstance(value, (int, float)):
        raise ComplianceError(f"{path} has no numeric {key}; rerun the run that wrote it")
    return float(value)
