"""The submission checker on a real tree (LoadGen logs) and on broken copies of it, one defect each."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fixtures.submission_tree import (
    MODEL,
    SUBMITTER,
    SYSTEM,
    build_tree,
    relaxed_profile,
    run_loadgen,
    user_conf,
)

from msb.cli import main
from msb.descriptions.rounds import RoundProfile, load_round
from msb.project import Project
from msb.submission.check import check_tree
from msb.submission.findings import Finding, Severity

SUB = Path("closed") / SUBMITTER
RESULT = SUB / "results" / SYSTEM / MODEL
COMPLIANCE = SUB / "compliance" / SYSTEM / MODEL


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("submission")
    return build_tree(base / "tree", base / "backup")


@pytest.fixture
def tree(built: Path, tmp_path: Path) -> Path:
    """A private copy of the valid tree, free to break."""
    return Path(shutil.copytree(built, tmp_path / "tree"))


@pytest.fixture(scope="module")
def profile() -> RoundProfile:
    return relaxed_profile(load_round("v5.1"))


def errors(root: Path, profile: RoundProfile) -> list[Finding]:
    return [f for f in check_tree(root, profile) if f.severity is Severity.ERROR]


def assert_flagged(root: Path, profile: RoundProfile, path: Path, words: str) -> None:
    found = errors(root, profile)
    matching = [f for f in found if f.path == root / path and words in f.message]
    assert matching, f"no error at {path} mentioning {words!r}; got:\n" + "\n".join(
        f"{f.path}: {f.message}" for f in found
    )


def test_valid_tree_has_no_findings(built: Path, profile: RoundProfile) -> None:
    assert check_tree(built, profile) == []


def test_main_exits_zero_only_without_errors(built: Path, project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    # The real v5.1 profile: the fixture's 50 ms runs must not pass as a submission.
    assert main(["submission", "check", str(built), "--round", "v5.1"], project) == 1
    out = capsys.readouterr().out
    assert "shortened run" in out
    assert "fix:" in out


def test_shortened_runs_are_not_valid_for_submission(built: Path) -> None:
    found = errors(built, load_round("v5.1"))
    shortened = {f.path for f in found if "shortened run" in f.message}
    assert built / RESULT / "Offline" / "performance" / "run_1" / "mlperf_log_detail.txt" in shortened
    assert (
        built / COMPLIANCE / "SingleStream" / "TEST04" / "performance" / "run_1" / "mlperf_log_detail.txt" in shortened
    )
    assert any("dataset has 50000" in f.message for f in found)


def test_missing_performance_file(tree: Path, profile: RoundProfile) -> None:
    missing = RESULT / "Offline" / "performance" / "run_1" / "mlperf_log_summary.txt"
    (tree / missing).unlink()
    assert_flagged(tree, profile, missing, "required file is missing")


def test_untruncated_accuracy_log(tree: Path, profile: RoundProfile, built: Path) -> None:
    accuracy = RESULT / "SingleStream" / "accuracy"
    backup = built.parent / "backup" / accuracy / "mlperf_log_accuracy.json"
    shutil.copyfile(backup, tree / accuracy / "mlperf_log_accuracy.json")
    txt = tree / accuracy / "accuracy.txt"
    txt.write_text("".join(line for line in txt.read_text().splitlines(True) if not line.startswith("hash=")))
    assert_flagged(tree, profile, accuracy / "mlperf_log_accuracy.json", "not truncated")
    assert_flagged(tree, profile, accuracy / "accuracy.txt", "no hash= line")


def test_seeds_of_another_round(built: Path) -> None:
    # LoadGen 5.1.2 logs the v5.1 seeds; checked as a v5.0 submission they are wrong.
    found = errors(built, relaxed_profile(load_round("v5.0")))
    detail = built / RESULT / "Offline" / "performance" / "run_1" / "mlperf_log_detail.txt"
    seeds = [f for f in found if f.path == detail and "rng_seed" in f.message]
    assert len(seeds) == 3
    assert "mlcommons-loadgen==5.0.21" in seeds[0].fix


def test_empty_required_system_field(tree: Path, profile: RoundProfile) -> None:
    path = tree / SUB / "systems" / f"{SYSTEM}.json"
    system = json.loads(path.read_text())
    system["host_processor_model_name"] = ""
    path.write_text(json.dumps(system))
    assert_flagged(tree, profile, path.relative_to(tree), "'host_processor_model_name' is empty")


def test_missing_required_system_field(tree: Path, profile: RoundProfile) -> None:
    path = tree / SUB / "systems" / f"{SYSTEM}.json"
    system = json.loads(path.read_text())
    del system["cooling"]
    path.write_text(json.dumps(system))
    assert_flagged(tree, profile, path.relative_to(tree), "'cooling' is missing")


def test_dotfile(tree: Path, profile: RoundProfile) -> None:
    dotfile = RESULT / "Offline" / ".DS_Store"
    (tree / dotfile).write_text("x")
    assert_flagged(tree, profile, dotfile, "hidden")


def test_accuracy_under_target(tree: Path, profile: RoundProfile) -> None:
    txt = RESULT / "MultiStream" / "accuracy" / "accuracy.txt"
    text = (tree / txt).read_text()
    (tree / txt).write_text(text.replace("accuracy=78.", "accuracy=70."))
    assert_flagged(tree, profile, txt, "below the target 75.695%")


def test_invalid_performance_result(tree: Path, profile: RoundProfile) -> None:
    # A real INVALID run: Offline asked for 2 s but the instant SUT finishes its one query well before.
    run = tree / RESULT / "Offline" / "performance" / "run_1"
    shutil.rmtree(run)
    conf = user_conf(min_duration_ms=2000).replace("target_qps = 1000000", "target_qps = 1")
    run_loadgen(run, "Offline", accuracy=False, conf=conf)
    assert_flagged(tree, profile, run.relative_to(tree) / "mlperf_log_detail.txt", "INVALID, not VALID")


def test_missing_compliance_test(tree: Path, profile: RoundProfile) -> None:
    test04 = COMPLIANCE / "Offline" / "TEST04"
    shutil.rmtree(tree / test04)
    assert_flagged(tree, profile, test04, "compliance test TEST04 is missing")


def test_failed_compliance_verification(tree: Path, profile: RoundProfile) -> None:
    verify = COMPLIANCE / "SingleStream" / "TEST01" / "verify_performance.txt"
    (tree / verify).write_text("TEST FAIL: Test score invalid\n")
    assert_flagged(tree, profile, verify, "performance verification failed")


def test_missing_required_scenario(tree: Path, profile: RoundProfile) -> None:
    for area in ("results", "measurements", "compliance"):
        shutil.rmtree(tree / SUB / area / SYSTEM / MODEL / "MultiStream")
    assert_flagged(tree, profile, RESULT, "required scenario(s) MultiStream missing")


def test_resnet50_is_not_a_datacenter_benchmark_in_v51(tree: Path, profile: RoundProfile) -> None:
    path = tree / SUB / "systems" / f"{SYSTEM}.json"
    system = json.loads(path.read_text())
    system["system_type"] = "datacenter"
    path.write_text(json.dumps(system))
    assert_flagged(tree, profile, RESULT, "not part of the datacenter suite")


def test_empty_directory_and_missing_calibration(tree: Path, profile: RoundProfile) -> None:
    (tree / SUB / "documentation").mkdir()
    (tree / SUB / "calibration.md").unlink()
    assert_flagged(tree, profile, SUB / "documentation", "empty directory")
    assert_flagged(tree, profile, SUB / "calibration.md", "calibration document is missing")


def test_empty_tree_is_an_error_not_a_pass(tmp_path: Path, profile: RoundProfile) -> None:
    assert_flagged(tmp_path, profile, Path(), "no results")


def test_test01_failure_passes_when_accuracies_agree(tree: Path, profile: RoundProfile) -> None:
    test01 = COMPLIANCE / "Offline" / "TEST01"
    (tree / test01 / "verify_accuracy.txt").write_text("TEST FAIL\n")
    (tree / test01 / "accuracy" / "baseline_accuracy.txt").write_text("accuracy=78.000%, good=799, total=1024\n")
    (tree / test01 / "accuracy" / "compliance_accuracy.txt").write_text("accuracy=77.900%, good=797, total=1024\n")
    assert errors(tree, profile) == []
    (tree / test01 / "accuracy" / "compliance_accuracy.txt").write_text("accuracy=70.000%, good=717, total=1024\n")
    assert_flagged(tree, profile, test01 / "accuracy", "TEST01 failed")


def test_empty_implementation_field(tree: Path, profile: RoundProfile) -> None:
    path = SUB / "measurements" / SYSTEM / MODEL / "Offline" / f"{SYSTEM}_onnxruntime-cpu_Offline.json"
    data = json.loads((tree / path).read_text())
    data["starting_weights_filename"] = ""
    (tree / path).write_text(json.dumps(data))
    assert_flagged(tree, profile, path, "'starting_weights_filename' is empty")


def test_git_metadata_beside_the_divisions_is_allowed(tree: Path, profile: RoundProfile) -> None:
    # Submissions are pushed as git repositories; only the division folders must be clean.
    (tree / ".git").mkdir()
    (tree / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (tree / "README.md").write_text("# Our submission\n")
    assert errors(tree, profile) == []
    (tree / "notes.txt").write_text("x")
    assert_flagged(tree, profile, Path("notes.txt"), "outside any division")


def test_open_division_relaxes_accuracy_and_compliance(tree: Path, profile: RoundProfile) -> None:
    (tree / "closed").rename(tree / "open")
    sub = tree / "open" / SUBMITTER
    system = json.loads((sub / "systems" / f"{SYSTEM}.json").read_text())
    (sub / "systems" / f"{SYSTEM}.json").write_text(json.dumps({**system, "division": "open"}))
    shutil.rmtree(sub / "compliance")
    txt = sub / "results" / SYSTEM / MODEL / "Offline" / "accuracy" / "accuracy.txt"
    txt.write_text(txt.read_text().replace("accuracy=78.", "accuracy=70."))
    found = check_tree(tree, profile)
    assert [f.severity for f in found] == [Severity.WARNING]
    assert "below the target" in found[0].message


def test_harness_working_folders_are_only_warned_about(tree: Path, profile: RoundProfile) -> None:
    (tree / ".staging" / "run-1").mkdir(parents=True)
    found = check_tree(tree, profile)
    assert [(f.severity, f.path) for f in found] == [(Severity.WARNING, tree / ".staging")]


def test_runs_are_still_checked_when_the_system_type_is_invalid(tree: Path, profile: RoundProfile) -> None:
    path = tree / SUB / "systems" / f"{SYSTEM}.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "system_type": "mobile"}))
    (tree / RESULT / "Offline" / "accuracy" / "accuracy.txt").unlink()
    assert_flagged(tree, profile, path.relative_to(tree), "system_type 'mobile' is not valid")
    assert_flagged(tree, profile, RESULT / "Offline" / "accuracy" / "accuracy.txt", "required file is missing")
