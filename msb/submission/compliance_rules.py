"""Rules on the compliance runs of a result: compliance/<system>/<model>/<scenario>/TEST*/ (closed division).

Layout, as the round's checker expects it:
  TEST*/verify_performance.txt               a line with TEST PASS
  TEST*/performance/run_1/                   the run's summary and detail logs (a full-length performance run)
  TEST01/verify_accuracy.txt                 TEST PASS, or else the two accuracies below agree within 1 %
  TEST01/accuracy/                           mlperf_log_accuracy.json (truncated) and accuracy.txt (its hash)
"""

from __future__ import annotations

from pathlib import Path

from msb.descriptions.rounds import ModelRules, RoundProfile
from msb.submission.accuracy_rules import read_accuracy
from msb.submission.filelists import file_list_findings
from msb.submission.findings import Finding, error
from msb.submission.performance_rules import performance_run_findings

PASS_MARK = "TEST PASS"
# Allowed relative difference of TEST01 baseline and compliance accuracy for 99 % models (0.1 % for 99.9 %).
TEST01_DELTA_PERCENT = 1.0


def passed(verify_file: Path) -> bool:
    return verify_file.is_file() and any(PASS_MARK in line for line in verify_file.read_text().splitlines())


def compliance_findings(directory: Path, model: ModelRules, scenario: str, profile: RoundProfile) -> list[Finding]:
    findings: list[Finding] = []
    for test in model.compliance_tests:
        test_dir = directory / test
        if not test_dir.is_dir():
            findings.append(
                error(
                    test_dir,
                    f"compliance test {test} is missing",
                    f"run {test} for {model.name} {scenario} and its verification; closed results need it",
                )
            )
            continue
        findings += _performance_part(test_dir, model, scenario, profile)
        if test == "TEST01":
            findings += _test01_accuracy_part(test_dir, model, profile)
    return findings


def _performance_part(test_dir: Path, model: ModelRules, scenario: str, profile: RoundProfile) -> list[Finding]:
    verify = test_dir / "verify_performance.txt"
    findings = []
    if not verify.is_file():
        findings.append(error(verify, "missing", "run the test's performance verification and keep its output"))
    elif not passed(verify):
        findings.append(error(verify, f"no {PASS_MARK} line: performance verification failed", "see the file"))
    run = test_dir / "performance" / "run_1"
    findings += performance_run_findings(run, profile.files.compliance_performance, model, scenario, profile)
    return findings


def _test01_accuracy_part(test_dir: Path, model: ModelRules, profile: RoundProfile) -> list[Finding]:
    verify = test_dir / "verify_accuracy.txt"
    if not verify.is_file():
        return [error(verify, "missing", "run TEST01's accuracy verification and keep its output")]
    accuracy_dir = test_dir / "accuracy"
    files = profile.files
    if passed(verify):
        return file_list_findings(accuracy_dir, files.test01_accuracy, ignored=files.ignored)
    # Non-deterministic systems may fail the byte comparison and pass by agreeing accuracies instead.
    findings = file_list_findings(accuracy_dir, files.test01_accuracy_on_fail, ignored=files.ignored)
    baseline = read_accuracy(accuracy_dir / "baseline_accuracy.txt", model.accuracy)
    compliance = read_accuracy(accuracy_dir / "compliance_accuracy.txt", model.accuracy)
    if not baseline or not compliance:
        findings.append(
            error(
                accuracy_dir,
                "TEST01 failed and baseline/compliance accuracy are not both readable",
                "score both accuracy logs into baseline_accuracy.txt and compliance_accuracy.txt",
            )
        )
    elif abs(1 - baseline / compliance) * 100 > TEST01_DELTA_PERCENT:
        findings.append(
            error(
                accuracy_dir,
                f"TEST01 failed: baseline {baseline} and compliance {compliance} differ by more"
                f" than {TEST01_DELTA_PERCENT} %",
                "make the SUT's outputs independent of sample order/batching",
            )
        )
    return findings
