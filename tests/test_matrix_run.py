"""The matrix's file work around the runs: state for resume, truncation with full logs kept outside the tree,
the full log put back for TEST01, calibration.md. The runs themselves: tests/test_docker_matrix.py."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from msb.descriptions.system import SystemSpec, load_system_spec
from msb.errors import SpecError
from msb.project import Project
from msb.run.calibration import calibration_doc
from msb.run.matrix import MatrixRun
from msb.run.matrix_run import FULL_LOGS_DIR, restore_full_log, truncate_group, write_calibration
from msb.run.progress import DONE, FAILED, RUNNING
from msb.run.state import RunState, read_states, write_state
from msb.submission.truncate import file_sha256, recorded_hash

ACC = Path("closed/MSB/results/cpu_demo/resnet50/Offline/accuracy")
T01 = Path("closed/MSB/compliance/cpu_demo/resnet50/Offline/TEST01/accuracy")


@pytest.fixture
def demo(project: Project) -> SystemSpec:
    return load_system_spec(project, "cpu-demo")


def write_log(directory: Path, fill: str) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    text = "[\n" + ",\n".join(f'{{"seq_id": {i}, "qsl_idx": {i}, "data": "{fill * 16}"}}' for i in range(400)) + "\n]\n"
    (directory / "mlperf_log_accuracy.json").write_text(text)
    return text


def group(system: str = "cpu_demo") -> list[MatrixRun]:
    return [MatrixRun(system, "resnet50", "Offline", k) for k in ("accuracy", "performance", "TEST01")]


def states(*runs: MatrixRun) -> dict[str, RunState]:
    """What the harness's records said of each run's accuracy folders."""
    folders = {"accuracy": (str(ACC),), "TEST01": (str(T01),)}
    return {run.key: RunState(DONE, accuracy_dirs=folders.get(run.kind, ())) for run in runs}


def test_state_survives_and_a_cut_file_means_redo_that_unit(tmp_path: Path) -> None:
    write_state(tmp_path, "a", RunState(RUNNING))
    write_state(tmp_path, "a", RunState(DONE, ("closed/x/a.txt",), ("closed/x/accuracy",), 3.2))
    write_state(tmp_path, "b", RunState(FAILED, job="17", node="n1", reason="TIMEOUT"))
    assert read_states(tmp_path) == {
        "a": RunState(DONE, ("closed/x/a.txt",), ("closed/x/accuracy",), 3.2),
        "b": RunState(FAILED, job="17", node="n1", reason="TIMEOUT"),
    }
    (tmp_path / ".msb" / "state" / "a.json").write_text('{"sta')
    assert read_states(tmp_path) == {"b": RunState(FAILED, job="17", node="n1", reason="TIMEOUT")}


def test_an_experiment_of_the_single_state_file_resumes_under_the_per_unit_files(tmp_path: Path) -> None:
    old = '{"runs": {"a": {"state": "done", "files": ["closed/x/a.txt"]}, "b": {"state": "running"}}}'
    (tmp_path / ".msb").mkdir()
    (tmp_path / ".msb" / "matrix-state.json").write_text(old)
    assert read_states(tmp_path) == {"a": RunState(DONE, ("closed/x/a.txt",)), "b": RunState(RUNNING)}
    write_state(tmp_path, "b", RunState(DONE, ("closed/x/b.txt",)))
    assert read_states(tmp_path)["b"] == RunState(DONE, ("closed/x/b.txt",))
    (tmp_path / ".msb" / "matrix-state.json").write_text('{"runs": {"a": {"sta')
    assert read_states(tmp_path) == {"b": RunState(DONE, ("closed/x/b.txt",))}


def test_truncation_keeps_the_full_logs_outside_the_tree(tmp_path: Path, demo: SystemSpec) -> None:
    full = write_log(tmp_path / ACC, "AB")
    (tmp_path / ACC / "accuracy.txt").write_text("accuracy=100.000%, good=24, total=24\n")
    write_log(tmp_path / T01, "CD")
    assert truncate_group(tmp_path, group(), states(*group())) == [tmp_path / ACC, tmp_path / T01]
    backup = tmp_path / FULL_LOGS_DIR / ACC / "mlperf_log_accuracy.json"
    assert backup.read_text() == full
    assert recorded_hash(tmp_path / ACC / "accuracy.txt") == file_sha256(backup)
    assert (tmp_path / ACC / "mlperf_log_accuracy.json").stat().st_size <= 10240
    assert recorded_hash(tmp_path / T01 / "accuracy.txt")  # TEST01's accuracy.txt is the hash line
    # Group-writable: the container's uid (another user in the experiment's group) rewrites them in a TEST01 rerun.
    assert all(
        (tmp_path / ACC / name).stat().st_mode & 0o060 == 0o060 for name in ("accuracy.txt", "mlperf_log_accuracy.json")
    )
    assert truncate_group(tmp_path, group(), states(*group())) == []  # a resumed matrix leaves them alone


def test_full_log_is_put_back_for_test01_and_truncated_again(tmp_path: Path, demo: SystemSpec) -> None:
    full = write_log(tmp_path / ACC, "AB")
    (tmp_path / ACC / "accuracy.txt").write_text("accuracy=100.000%\n")
    truncate_group(tmp_path, group()[:1], states(*group()))
    assert restore_full_log(tmp_path, ACC)
    assert (tmp_path / ACC / "mlperf_log_accuracy.json").read_text() == full
    assert truncate_group(tmp_path, group()[:1], states(*group())) == [tmp_path / ACC]
    assert not restore_full_log(tmp_path, ACC / "nowhere")


def test_redone_accuracy_run_replaces_the_old_backup(tmp_path: Path, demo: SystemSpec) -> None:
    write_log(tmp_path / ACC, "AB")
    (tmp_path / ACC / "accuracy.txt").write_text("accuracy=100.000%\n")
    truncate_group(tmp_path, group()[:1], states(*group()))
    new = write_log(tmp_path / ACC, "EF")  # what a --force rerun places
    (tmp_path / ACC / "accuracy.txt").write_text("accuracy=100.000%\n")
    truncate_group(tmp_path, group()[:1], states(*group()))
    assert (tmp_path / FULL_LOGS_DIR / ACC / "mlperf_log_accuracy.json").read_text() == new


def test_calibration_doc_default_for_fp32_and_one_section_per_system(tmp_path: Path, demo: SystemSpec) -> None:
    path = write_calibration(tmp_path, demo)
    assert path == tmp_path / "closed" / "MSB" / "calibration.md"
    text = path.read_text()
    assert "## cpu_demo" in text and "no calibration and no quantisation" in text and "resnet50 (fp32" in text
    other = dataclasses.replace(demo, name="other", calibration="INT8 with 500 ImageNet calibration images.")
    both = calibration_doc(text, other)
    assert "## cpu_demo" in both and "## other\n\nINT8 with 500 ImageNet calibration images." in both
    assert calibration_doc(both, other) == both  # rewriting a section is idempotent
    assert write_calibration(tmp_path, demo).read_text() == text


def test_quantised_system_must_describe_its_calibration(demo: SystemSpec) -> None:
    int8 = dataclasses.replace(demo.benchmarks["resnet50"], precision="int8")
    with pytest.raises(SpecError, match="calibration"):
        calibration_doc(None, dataclasses.replace(demo, benchmarks={"resnet50": int8}))
