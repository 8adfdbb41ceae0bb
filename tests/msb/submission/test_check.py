"""The submission checker on a real tree (LoadGen logs) and on broken copies of it, one defect each."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from msb.cli import main
from msb.descriptions.rounds import RoundProfile, load_round
from msb.project import Project
from msb.submission.check import check_tree
from msb.submission.findings import Finding, Severity
from msb.submission.truncate import accuracy_dirs
from tests.support.submission_tree import (
    MODEL,
    SUBMITTER,
    SYSTEM,
    build_tree,
    relaxed_profile,
    run_loadgen,
    user_conf,
)

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


@pytest.fixture(scope="module")
def built_v6(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("submission-v6")
    return build_tree(base / "tree", base / "backup", round_name="v6.1")


@pytest.fixture
def tree_v6(built_v6: Path, tmp_path: Path) -> Path:
    """A private copy of the valid tree, free to break."""
    return Path(shutil.copytree(built_v6, tmp_path / "tree"))


@pytest.fixture(scope="module")
def profile_v6() -> RoundProfile:
    return relaxed_profile(load_round("v6.1"))


def errors_v6(root: Path, profile_v6: RoundProfile) -> list[Finding]:
    return [f for f in check_tree(root, profile_v6) if f.severity is Severity.ERROR]


def assert_flagged_v6(root: Path, profile_v6: RoundProfile, path: Path, words: str) -> None:
    found = errors_v6(root, profile_v6)
    matching = [f for f in found if f.path == root / path and words in f.message]
    assert matching, f"no error at {path} mentioning {words!r}; got:\n" + "\n".join(
        f"{f.path}: {f.message}" for f in found
    )


def test_the_fixture_is_a_v6_tree(built_v6: Path) -> None:
    submitter = built_v6 / SUB
    assert sorted(p.name for p in submitter.iterdir()) == ["documentation", "results", "src", "systems"]
    assert sorted(p.name for p in (built_v6 / RESULT / "Offline").iterdir()) == [
        "README.md",
        "TEST01",
        "TEST04",
        "accuracy",
        "measurements.json",
        "performance",
        "user.conf",
    ]


def test_valid_tree_has_no_findings_v6(built_v6: Path, profile_v6: RoundProfile) -> None:
    assert check_tree(built_v6, profile_v6) == []


def test_the_real_v61_profile_wants_its_own_loadgen_and_full_runs(
    built_v6: Path, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["submission", "check", str(built_v6), "--round", "v6.1"], project) == 1
    out = capsys.readouterr().out
    assert "shortened run" in out
    assert "mlcommons-loadgen==6.0.17" in out  # LoadGen 5.1.2's seeds are not v6.1's


def test_truncation_found_every_accuracy_log_of_the_v6_tree(built_v6: Path) -> None:
    found = {p.relative_to(built_v6) for p in accuracy_dirs(built_v6)}
    scenarios = ("MultiStream", "Offline", "SingleStream")
    assert found == {RESULT / s / "accuracy" for s in scenarios} | {
        RESULT / s / "TEST01" / "accuracy" for s in scenarios
    }


def test_missing_measurements_json(tree_v6: Path, profile_v6: RoundProfile) -> None:
    (tree_v6 / RESULT / "Offline" / "measurements.json").unlink()
    assert_flagged_v6(tree_v6, profile_v6, RESULT / "Offline", "no measurements.json")


def test_empty_readme(tree_v6: Path, profile_v6: RoundProfile) -> None:
    (tree_v6 / RESULT / "SingleStream" / "README.md").write_text("")
    assert_flagged_v6(tree_v6, profile_v6, RESULT / "SingleStream" / "README.md", "required file is empty")


def test_missing_user_conf(tree_v6: Path, profile_v6: RoundProfile) -> None:
    (tree_v6 / RESULT / "MultiStream" / "user.conf").unlink()
    assert_flagged_v6(tree_v6, profile_v6, RESULT / "MultiStream" / "user.conf", "required file is missing")


def test_missing_src(tree_v6: Path, profile_v6: RoundProfile) -> None:
    shutil.rmtree(tree_v6 / SUB / "src")
    assert_flagged_v6(tree_v6, profile_v6, SUB / "src" / MODEL, "src directory is missing")


def test_missing_compliance_folder(tree_v6: Path, profile_v6: RoundProfile) -> None:
    shutil.rmtree(tree_v6 / RESULT / "Offline" / "TEST04")
    assert_flagged_v6(tree_v6, profile_v6, RESULT / "Offline" / "TEST04", "compliance test TEST04 is missing")


def test_failed_compliance_verification_v6(tree_v6: Path, profile_v6: RoundProfile) -> None:
    verify = RESULT / "SingleStream" / "TEST01" / "verify_performance.txt"
    (tree_v6 / verify).write_text("TEST FAIL: Test score invalid\n")
    assert_flagged_v6(tree_v6, profile_v6, verify, "performance verification failed")


def test_untruncated_accuracy_log_v6(tree_v6: Path, profile_v6: RoundProfile, built_v6: Path) -> None:
    accuracy = RESULT / "Offline" / "accuracy"
    backup = built_v6.parent / "backup" / accuracy / "mlperf_log_accuracy.json"
    shutil.copyfile(backup, tree_v6 / accuracy / "mlperf_log_accuracy.json")
    txt = tree_v6 / accuracy / "accuracy.txt"
    txt.write_text("".join(line for line in txt.read_text().splitlines(True) if not line.startswith("hash=")))
    assert_flagged_v6(tree_v6, profile_v6, accuracy / "mlperf_log_accuracy.json", "not truncated")
    assert_flagged_v6(tree_v6, profile_v6, accuracy / "accuracy.txt", "no hash= line")


def test_tree_hygiene_is_still_checked(tree_v6: Path, profile_v6: RoundProfile) -> None:
    # The modular official checker dropped these checks; the upload still rejects such trees, so ours keeps them.
    (tree_v6 / RESULT / "Offline" / ".DS_Store").write_text("x")
    (tree_v6 / RESULT / "Offline" / "link.txt").symlink_to(tree_v6 / RESULT / "Offline" / "user.conf")
    assert_flagged_v6(tree_v6, profile_v6, RESULT / "Offline" / ".DS_Store", "hidden")
    assert_flagged_v6(tree_v6, profile_v6, RESULT / "Offline" / "link.txt", "symbolic link")


def test_a_v5_folder_in_a_v6_tree_is_named(tree_v6: Path, profile_v6: RoundProfile) -> None:
    (tree_v6 / SUB / "src").rename(tree_v6 / SUB / "code")
    assert_flagged_v6(tree_v6, profile_v6, SUB / "code", "a v5.x folder; round v6.1 has no code/")
    assert_flagged_v6(tree_v6, profile_v6, SUB / "src" / MODEL, "src directory is missing")


def test_a_v51_tree_checked_as_v61_is_not_accepted(tmp_path: Path, profile_v6: RoundProfile) -> None:
    v5 = build_tree(tmp_path / "tree", tmp_path / "backup")  # v5.1 layout, the default
    found = errors_v6(v5, profile_v6)
    assert any(f.path == v5 / SUB / "measurements" and "v5.x folder" in f.message for f in found)
    assert any(f.path == v5 / RESULT / "Offline" / "TEST01" and "missing" in f.message for f in found)


def test_resnet50_on_a_datacenter_system_is_refused_naming_the_suite(tree_v6: Path, profile_v6: RoundProfile) -> None:
    path = tree_v6 / SUB / "systems" / f"{SYSTEM}.json"
    system = json.loads(path.read_text())
    system["system_type"] = "datacenter"
    path.write_text(json.dumps(system))
    assert_flagged_v6(tree_v6, profile_v6, RESULT, "not part of the datacenter suite in round v6.1")
