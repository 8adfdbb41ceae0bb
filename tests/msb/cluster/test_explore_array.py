"""`build.py explore ... --slurm` against the Slurm and engine stand-ins (tests/support): the array's submission
(what is written, what sbatch gets), each task running the point its SLURM_ARRAY_TASK_ID names, the finishing job's
report, status, and a resubmission of only the points not done (refused while the array lives)."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from msb import cli
from msb.cluster import array_command, command, explore_array
from msb.cluster.submit import JobsStillQueued
from msb.errors import SpecError
from msb.project import Project
from msb.run.state import read_states
from tests.msb.explore.test_run import SYSTEM, offline_results
from tests.support.fake_engine import CRASH, PLACE, FakeEngine
from tests.support.fake_slurm import FakeSlurm

DIGEST = "sha256:" + "b" * 64


@pytest.fixture
def setup(
    tmp_path: Path, project: Project, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, FakeEngine, FakeSlurm, list[str]]:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "val_map.txt").write_text("a.JPEG 0\n")
    (tmp_path / "model.onnx").write_bytes(b"onnx")
    shutil.copy(project.systems / SYSTEM, tmp_path / SYSTEM)
    with (tmp_path / SYSTEM).open("a") as described:
        described.write("slurm:\n  partition: edge\n")
    engine = FakeEngine(tmp_path / "unused", round="v6.1", results_of=offline_results, content=DIGEST)
    slurm = FakeSlurm()
    for module in (array_command, command):
        monkeypatch.setattr(module, "DockerEngine", lambda: engine)
        monkeypatch.setattr(module, "SlurmCli", lambda: slurm)
    args = ["explore", "--system", str(tmp_path / SYSTEM), "--benchmark", "resnet50", "--scenario", "Offline",
            "--dataset", str(tmp_path / "data"), "--model", str(tmp_path / "model.onnx"), "--batch-sizes", "1,8,32",
            "--experiment", str(tmp_path / "explore"), "--duration-ms", "500", "--slurm"]  # fmt: skip
    return tmp_path / "explore", engine, slurm, args


def run_task(folder: Path, engine: FakeEngine, array_job: str, index: int) -> str:
    environ = {"SLURM_ARRAY_JOB_ID": array_job, "SLURM_ARRAY_TASK_ID": str(index), "SLURM_JOB_ID": "999"}
    return explore_array.run_task(folder, engine, environ, lambda text: None).status


def test_the_grid_is_one_array_each_task_runs_its_point_and_the_job_after_it_writes_the_report(
    setup, project, capsys
) -> None:
    folder, engine, slurm, args = setup
    assert cli.main(args, project) == 0
    folder = folder.resolve()
    array_line, finish_line = slurm.submitted
    assert "--array=0,1,2" in array_line and "--exclusive" in array_line and "--partition=edge" in array_line
    assert array_line[-1].endswith(f"build.py node-task {folder}")
    assert "--dependency=afterany:100" in finish_line and finish_line[-1].endswith(f"build.py node-finish {folder}")
    assert engine.specs == []  # nothing ran on the submitting host
    assert {key: s.state for key, s in read_states(folder).items()} == {"bs1": "pending", "bs8": "pending",
                                                                        "bs32": "pending"}  # fmt: skip
    # Each task runs the point its index names (not the order tasks start in), recording its job and node.
    assert run_task(folder, engine, "100", 1) == "VALID"
    assert [s.backend.batch_size for s in engine.specs] == [8]
    assert run_task(folder, engine, "100", 0) == "VALID" and run_task(folder, engine, "100", 2) == "INVALID"
    assert [s.backend.batch_size for s in engine.specs] == [8, 1, 32]
    states = read_states(folder)
    assert {key: (s.state, s.job) for key, s in states.items()} == {
        "bs1": ("done", "100_0"), "bs8": ("done", "100_1"), "bs32": ("done", "100_2")}  # fmt: skip
    manifest = next((folder / "points" / "bs8" / ".msb" / "manifests").rglob("*.json"))
    assert json.loads(manifest.read_text())["slurm_job_id"] == "100_1"
    assert not (folder / "report").exists()  # the finishing job writes it, once every task has ended
    for job in ("100_0", "100_1", "100_2", "100"):
        slurm.end(job, "COMPLETED")
    assert cli.main(["node-finish", str(folder)], project) == 0
    rows = list(csv.DictReader((folder / "report" / "results.csv").open()))
    assert [(r["point"], r["status"]) for r in rows] == [("bs1", "VALID"), ("bs8", "VALID"), ("bs32", "INVALID")]
    assert (folder / "report" / "summary.md").read_text().startswith("RECOMMENDED: batch_size: 8")
    slurm.end("101", "COMPLETED")
    capsys.readouterr()
    assert cli.main(["status", str(folder), "--wait", "--poll", "0.1", "--timeout", "3"], project) == 0
    shown = capsys.readouterr().out
    assert "3 done, 0 running, 0 pending, 0 failed point(s); report job: done" in shown
    assert "RECOMMENDED: batch_size: 8" in shown


def test_a_resubmission_is_refused_while_the_array_lives_then_sends_only_points_not_done(
    setup, project, capsys
) -> None:
    folder, engine, slurm, args = setup
    assert cli.main(args, project) == 0
    folder = folder.resolve()
    engine.behaviour_of = lambda spec: CRASH if spec.backend.batch_size == 8 else PLACE
    assert cli.main(args, project) == JobsStillQueued.exit_status and len(slurm.submitted) == 2
    refused = capsys.readouterr().err
    assert "jobs still queued or running: 100_0, 100_1, 100_2, 101" in refused and "scancel 100_0" in refused
    assert run_task(folder, engine, "100", 0) == "VALID" and run_task(folder, engine, "100", 1) == "FAILED"
    assert run_task(folder, engine, "100", 2) == "INVALID"
    assert read_states(folder)["bs8"].state == "failed"
    for job in ("100_0", "100_1", "100_2", "100"):
        slurm.end(job, "COMPLETED")
    assert cli.main(["node-finish", str(folder)], project) == 0  # bs1 recommended, bs8 failed
    slurm.end("101", "COMPLETED")
    engine.behaviour_of = None
    assert cli.main(args, project) == 0
    assert not (folder / "report").exists()  # the report of before bs8 is redone is stale
    assert "--array=1" in slurm.submitted[2] and "--dependency=afterany:102" in slurm.submitted[3]
    assert read_states(folder)["bs1"].state == "done" and read_states(folder)["bs8"].state == "pending"
    assert run_task(folder, engine, "102", 1) == "VALID"
    for job in ("102_1", "102", "103"):
        slurm.end(job, "COMPLETED")
    assert cli.main(args, project) == 0 and len(slurm.submitted) == 5  # every point done: only the report's job
    alone = slurm.submitted[4]
    assert not any(a.startswith(("--dependency", "--array")) for a in alone) and alone[-1].endswith(
        "node-finish " + str(folder)
    )
    assert cli.main(["node-finish", str(folder)], project) == 0
    slurm.end("104", "COMPLETED")
    assert cli.main(args, project) == 0 and len(slurm.submitted) == 5  # and the report written: nothing at all


def test_another_grid_into_the_same_folder_and_apply_are_refused(setup, project, capsys) -> None:
    _, _, slurm, args = setup
    assert cli.main([*args, "--apply"], project) == 2 and slurm.submitted == []
    assert "--apply writes into the system description" in capsys.readouterr().err
    assert cli.main(args, project) == 0
    for job in ("100_0", "100_1", "100_2", "101"):
        slurm.end(job, "CANCELLED")
    other = [a if a != "1,8,32" else "1,8" for a in args]
    assert cli.main(other, project) == SpecError.exit_status and len(slurm.submitted) == 2
    assert "holds an exploration of other points or inputs" in capsys.readouterr().err
