"""A compliance run's folder: the submission's results it is compared with, and the files the checker reads.

`<TEST>/` in the round's layout (`harness.contract.layout`: under compliance/ in v5.x, in the scenario's results folder
in v6.x), as the official run_verification.py scripts leave it:
  performance/run_1/{mlperf_log_summary.txt,mlperf_log_detail.txt}   the compliance run's logs
  verify_performance.txt                                             TEST PASS or TEST FAIL
  verify_accuracy.txt, accuracy/mlperf_log_accuracy.json             TEST01 only
  accuracy/accuracy.txt                                              TEST01: the compliance log's score
  accuracy/{baseline,compliance}_accuracy.txt                        TEST01, when the payload check failed
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.benchmarks.base import AccuracyReport
from harness.compliance.verify import (
    Verification,
    baseline_entries,
    verify_accuracy,
    verify_performance_test01,
    verify_performance_test04,
)
from harness.contract.layout import ResultLayout

# Allowed relative difference of baseline and compliance accuracy when TEST01's payload check fails
# (the round's rule for 99 % accuracy targets, which every benchmark of this harness has).
TEST01_ACCURACY_DELTA_PERCENT = 1.0
_PERFORMANCE_LOGS = ("mlperf_log_summary.txt", "mlperf_log_detail.txt")


class MissingResultsError(RuntimeError):
    """The submission results a compliance test is compared with are not in the tree yet."""


@dataclass(frozen=True)
class PriorResults:
    """The submission's own performance run (and, for TEST01, accuracy log) of the same scenario."""

    performance_dir: Path
    accuracy_log: Path | None


@dataclass(frozen=True)
class ComplianceVerdict:
    """What the verifications said, and whether the round's checker accepts the test."""

    verifications: tuple[tuple[str, Verification], ...]
    accepted: bool
    note: str


def find_prior_results(experiment: Path, layout: ResultLayout, test: str) -> PriorResults:
    """The results the compliance test compares with; a clear error naming the run to do first."""
    performance_dir = experiment / layout.result_dir("performance")
    needed = [(performance_dir / name, "performance") for name in _PERFORMANCE_LOGS]
    accuracy_log = experiment / layout.result_dir("accuracy") / "mlperf_log_accuracy.json"
    if test == "TEST01":
        needed.append((accuracy_log, "accuracy"))
    for path, mode in needed:
        if not path.is_file():
            raise MissingResultsError(
                f"{test} compares with the submission's own {layout.benchmark} {layout.scenario} {mode} run, "
                f"but {path} is missing; run `python -m harness run --mode {mode}` for it first "
                "(same --output, --round, --submitter, --system, --benchmark, --scenario)"
            )
    return PriorResults(performance_dir, accuracy_log if test == "TEST01" else None)


def write_test_dir(
    test: str,
    log_dir: Path,
    test_dir: Path,
    prior: PriorResults,
    score: Callable[[Path], AccuracyReport],
) -> ComplianceVerdict:
    """Verify the compliance run's logs in `log_dir` against `prior` and write `test_dir` (in staging)."""
    run_dir = test_dir / "performance" / "run_1"
    run_dir.mkdir(parents=True)
    for name in _PERFORMANCE_LOGS:
        shutil.copyfile(log_dir / name, run_dir / name)
    if test == "TEST04":
        performance = verify_performance_test04(
            prior.performance_dir / "mlperf_log_summary.txt", run_dir / "mlperf_log_summary.txt"
        )
    else:
        performance = verify_performance_test01(
            prior.performance_dir / "mlperf_log_detail.txt", run_dir / "mlperf_log_detail.txt"
        )
    (test_dir / "verify_performance.txt").write_text(performance.text)
    verifications = [("verify_performance", performance)]
    accepted, note = performance.passed, "" if performance.passed else "performance verification failed"
    if test == "TEST01":
        if prior.accuracy_log is None:
            raise ValueError("TEST01 needs the accuracy run's log")
        accuracy, accuracy_ok, accuracy_note = _write_test01_accuracy(log_dir, test_dir, prior.accuracy_log, score)
        verifications.append(("verify_accuracy", accuracy))
        accepted = accepted and accuracy_ok
        note = "; ".join(part for part in (note, accuracy_note) if part)
    return ComplianceVerdict(tuple(verifications), accepted, note)


def _write_test01_accuracy(
    log_dir: Path, test_dir: Path, reference_log: Path, score: Callable[[Path], AccuracyReport]
) -> tuple[Verification, bool, str]:
    accuracy_dir = test_dir / "accuracy"
    accuracy_dir.mkdir()
    test_log = accuracy_dir / "mlperf_log_accuracy.json"
    shutil.copyfile(log_dir / "mlperf_log_accuracy.json", test_log)
    verification = verify_accuracy(reference_log, test_log)
    (test_dir / "verify_accuracy.txt").write_text(verification.text)
    compliance = score(test_log)
    (accuracy_dir / "accuracy.txt").write_text(compliance.line + "\n")
    if verification.passed:
        return verification, True, ""
    # The official fallback for systems whose outputs depend on batching: the accuracy of the same samples
    # in the accuracy run (the baseline) and in the compliance run must agree.
    baseline_log = log_dir / "mlperf_log_accuracy_baseline.json"
    baseline_log.write_text(json.dumps(baseline_entries(reference_log, test_log)))
    baseline = score(baseline_log)
    (accuracy_dir / "baseline_accuracy.txt").write_text(baseline.line + "\n")
    (accuracy_dir / "compliance_accuracy.txt").write_text(compliance.line + "\n")
    if compliance.value == 0 or baseline.value == 0:
        return verification, False, "TEST01 payloads differ and an accuracy is 0"
    delta = abs(1 - baseline.value / compliance.value) * 100
    if delta > TEST01_ACCURACY_DELTA_PERCENT:
        return verification, False, f"TEST01 payloads differ and accuracies differ by {delta:.3f} %"
    return verification, True, f"TEST01 payloads differ but accuracies agree within {delta:.3f} %"
