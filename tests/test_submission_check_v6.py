"""Our checker on a v6.1 tree (real LoadGen logs, in the v6 layout) and on broken copies of it, one defect each."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fixtures.submission_tree import MODEL, SUBMITTER, SYSTEM, build_tree, relaxed_profile

from msb.cli import main
from msb.descriptions.rounds import RoundProfile, load_round
from msb.project import Project
from msb.submission.check import check_tree
from msb.submission.findings import Finding, Severity
from msb.submission.truncate import accuracy_dirs

SUB = Path("closed") / SUBMITTER
RESULT = SUB / "results" / SYSTEM / MODEL


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("submission-v6")
    return build_tree(base / "tree", base / "backup", round_name="v6.1")


@pytest.fixture
def tree(built: Path, tmp_path: Path) -> Path:
    """A private copy of the valid tree, free to break."""
    return Path(shutil.copytree(built, tmp_path / "tree"))


@pytest.fixture(scope="module")
def profile() -> RoundProfile:
    return relaxed_profile(load_round("v6.1"))


def errors(root: Path, profile: RoundProfile) -> list[Finding]:
    return [f for f in check_tree(root, profile) if f.severity is Severity.ERROR]


def assert_flagged(root: Path, profile: RoundProfile, path: Path, words: str) -> None:
    found = errors(root, profile)
    matching = [f for f in found if f.path == root / path and words in f.message]
    assert matching, f"no error at {path} mentioning {words!r}; got:\n" + "\n".join(
        f"{f.path}: {f.message}" for f in found
    )


def test_the_fixture_is_a_v6_tree(built: Path) -> None:
    submitter = built / SUB
    assert sorted(p.name for p in submitter.iterdir()) == ["documentation", "results", "src", "systems"]
    assert sorted(p.name for p in (built / RESULT / "Offline").iterdir()) == [
        "README.md",
        "TEST01",
        "TEST04",
        "accuracy",
        "measurements.json",
        "performance",
        "user.conf",
    ]


def test_valid_tree_has_no_findings(built: Path, profile: RoundProfile) -> None:
    assert check_tree(built, profile) == []


def test_the_real_v61_profile_wants_its_own_loadgen_and_full_runs(
    built: Path, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["submission", "check", str(built), "--round", "v6.1"], project) == 1
    out = capsys.readouterr().out
    assert "shortened run" in out
    assert "mlcommons-loadgen==6.0.17" in out  # LoadGen 5.1.2's seeds are not v6.1's


def test_truncation_found_every_accuracy_log_of_the_v6_tree(built: Path) -> None:
    found = {p.relative_to(built) for p in accuracy_dirs(built)}
    scenarios = ("MultiStream", "Offline", "SingleStream")
    assert found == {RESULT / s / "accuracy" for s in scenarios} | {
        RESULT / s / "TEST01" / "accuracy" for s in scenarios
    }


def test_missing_measurements_json(tree: Path, profile: RoundProfile) -> None:
    (tree / RESULT / "Offline" / "measurements.json").unlink()
    assert_flagged(tree, profile, RESULT / "Offline", "no measurements.json")


def test_empty_readme(tree: Path, profile: RoundProfile) -> None:
    (tree / RESULT / "SingleStream" / "README.md").write_text("")
    assert_flagged(tree, profile, RESULT / "SingleStream" / "README.md", "required file is empty")


def test_missing_user_conf(tree: Path, profile: RoundProfile) -> None:
    (tree / RESULT / "MultiStream" / "user.conf").unlink()
    assert_flagged(tree, profile, RESULT / "MultiStream" / "user.conf", "required file is missing")


def test_missing_src(tree: Path, profile: RoundProfile) -> None:
    shutil.rmtree(tree / SUB / "src")
    assert_flagged(tree, profile, SUB / "src" / MODEL, "src directory is missing")


def test_missing_compliance_folder(tree: Path, profile: RoundProfile) -> None:
    shutil.rmtree(tree / RESULT / "Offline" / "TEST04")
    assert_flagged(tree, profile, RESULT / "Offline" / "TEST04", "compliance test TEST04 is missing")


def test_failed_compliance_verification(tree: Path, profile: RoundProfile) -> None:
    verify = RESULT / "SingleStream" / "TEST01" / "verify_performance.txt"
    (tree / verify).write_text("TEST FAIL: Test score invalid\n")
    assert_flagged(tree, profile, verify, "performance verification failed")


def test_untruncated_accuracy_log(tree: Path, profile: RoundProfile, built: Path) -> None:
    accuracy = RESULT / "Offline" / "accuracy"
    backup = built.parent / "backup" / accuracy / "mlperf_log_accuracy.json"
    shutil.copyfile(backup, tree / accuracy / "mlperf_log_accuracy.json")
    txt = tree / accuracy / "accuracy.txt"
    txt.write_text("".join(line for line in txt.read_text().splitlines(True) if not line.startswith("hash=")))
    assert_flagged(tree, profile, accuracy / "mlperf_log_accuracy.json", "not truncated")
    assert_flagged(tree, profile, accuracy / "accuracy.txt", "no hash= line")


def test_tree_hygiene_is_still_checked(tree: Path, profile: RoundProfile) -> None:
    # The modular official checker dropped these checks; the upload still rejects such trees, so ours keeps them.
    (tree / RESULT / "Offline" / ".DS_Store").write_text("x")
    (tree / RESULT / "Offline" / "link.txt").symlink_to(tree / RESULT / "Offline" / "user.conf")
    assert_flagged(tree, profile, RESULT / "Offline" / ".DS_Store", "hidden")
    assert_flagged(tree, profile, RESULT / "Offline" / "link.txt", "symbolic link")


def test_a_v5_folder_in_a_v6_tree_is_named(tree: Path, profile: RoundProfile) -> None:
    (tree / SUB / "src").rename(tree / SUB / "code")
    assert_flagged(tree, profile, SUB / "code", "a v5.x folder; round v6.1 has no code/")
    assert_flagged(tree, profile, SUB / "src" / MODEL, "src directory is missing")


def test_a_v51_tree_checked_as_v61_is_not_accepted(tmp_path: Path, profile: RoundProfile) -> None:
    v5 = build_tree(tmp_path / "tree", tmp_path / "backup")  # v5.1 layout, the default
    found = errors(v5, profile)
    assert any(f.path == v5 / SUB / "measurements" and "v5.x folder" in f.message for f in found)
    assert any(f.path == v5 / RESULT / "Offline" / "TEST01" and "missing" in f.message for f in found)


def test_resnet50_on_a_datacenter_system_is_refused_naming_the_suite(tree: Path, profile: RoundProfile) -> None:
    path = tree / SUB / "systems" / f"{SYSTEM}.json"
    system = json.loads(path.read_text())
    system["system_type"] = "datacenter"
    path.write_text(json.dumps(system))
    assert_flagged(tree, profile, RESULT, "not part of the datacenter suite in round v6.1")
