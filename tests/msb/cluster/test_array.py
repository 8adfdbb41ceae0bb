"""The job array as data: its sbatch line (the tasks of the points not done, exclusive when measured), the finishing
job's line after it, the array file read back, and a task picking its point by SLURM_ARRAY_TASK_ID."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from msb.cluster import array
from msb.descriptions.slurm import SlurmOptions
from msb.errors import SpecError
from msb.run.expdir import Identity

IDENT = Identity(invoking_uid=1234, container_uid=1234, gid=1500)


def a_plan(timed: bool = True) -> array.ArrayPlan:
    return array.ArrayPlan("explore", "explore-sys-resnet50-Offline", "/exp", ("bs1", "bs8", "bs32"), timed,
                           "msb/cpu:latest", "sha256:" + "a" * 64, None, IDENT, "2026-12-08T00:00:00Z",
                           {"points": [[1, None], [8, None], [32, None]]})  # fmt: skip


def test_the_array_line_names_only_the_tasks_given_and_measured_points_are_exclusive() -> None:
    slurm = SlurmOptions("datacenter", 8, "2:00:00", "mlperf", "h100", ("--qos=high",))
    command = array.node_command("/py", Path("/msb/build.py"), "node-task", Path("/exp"))
    argv = array.array_argv(a_plan(), slurm, (0, 2), command)
    assert argv == [
        "sbatch", "--parsable", "--job-name=msb-explore-sys-resnet50-Offline",
        "--output=/exp/.msb/logs/explore-sys-resnet50-Offline.slurm-%A_%a.log", "--no-requeue", "--exclusive",
        "--array=0,2", "--partition=datacenter", "--gres=gpu:8", "--time=2:00:00", "--account=mlperf",
        "--constraint=h100", "--qos=high", "--wrap", "exec /py /msb/build.py node-task /exp",
    ]  # fmt: skip
    assert "--exclusive" not in array.array_argv(a_plan(timed=False), None, (0,), command)
    assert shlex.split(argv[-1])[1:] == command


def test_the_finishing_job_waits_for_the_whole_array_shares_its_node_and_asks_for_no_gpu() -> None:
    slurm = SlurmOptions("edge", 8, None, None, None, ())
    command = array.node_command("/py", Path("/msb/build.py"), "node-finish", Path("/exp"))
    argv = array.finish_argv(a_plan(), slurm, "100", command)
    assert "--dependency=afterany:100" in argv and "--partition=edge" in argv
    assert "--exclusive" not in argv and not any(a.startswith("--gres") for a in argv)
    assert argv[-1] == "exec /py /msb/build.py node-finish /exp"


def test_a_task_picks_its_point_by_its_array_index_and_outside_an_array_is_told_how() -> None:
    plan = a_plan()
    assert plan.tasks[array.task_index(plan, {"SLURM_ARRAY_TASK_ID": "2"})] == "bs32"
    assert array.task_job("100", 2) == "100_2"
    with pytest.raises(SpecError, match="SLURM_ARRAY_TASK_ID is not set") as outside:
        array.task_index(plan, {})
    assert "SLURM_ARRAY_TASK_ID=N" in outside.value.fix
    with pytest.raises(SpecError, match=r"task 3 is past the array's 3 point\(s\)"):
        array.task_index(plan, {"SLURM_ARRAY_TASK_ID": "3"})


def test_the_array_file_reads_back_and_a_foreign_one_is_named() -> None:
    plan = a_plan()
    assert array.array_from_json(array.array_json(plan), "a.json") == plan
    with pytest.raises(SpecError, match=r"a\.json is not an array file of schema 1"):
        array.array_from_json('{"schema": 7}', "a.json")
    with pytest.raises(SpecError, match=r"a\.json is not a readable array file"):
        array.array_from_json('{"schema": 1, "kind": "explore"}', "a.json")
    other = array.ArrayPlan(**{**plan.__dict__, "tasks": ("bs1",)})
    assert not plan.same_work(other) and plan.same_work(array.ArrayPlan(**{**plan.__dict__, "submitted": "later"}))
