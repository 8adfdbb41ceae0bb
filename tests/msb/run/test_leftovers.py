"""Leftovers of a dead build.py (msb/run/leftovers.py): removed and named, against the engine stand-in."""

from __future__ import annotations

import fcntl
import socket
from pathlib import Path

import pytest

from harness.contract import SPEC_FILE
from msb.descriptions.system import SystemSpec, load_system_spec
from msb.engine import ContainerInfo
from msb.labels import LABEL_EXPERIMENT, LABEL_HOST, LABEL_HOST_PID
from msb.project import Project
from msb.run import leftovers, runner
from tests.support.fake_engine import FakeEngine


@pytest.fixture
def demo(project: Project) -> SystemSpec:
    return load_system_spec(project, "cpu-demo")


@pytest.fixture
def inputs(tmp_path: Path) -> runner.RunArgs:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "val_map.txt").write_text("a.JPEG 0\n")
    (tmp_path / "model.onnx").write_bytes(b"onnx")
    return runner.RunArgs("", "", "accuracy", tmp_path / "exp", tmp_path / "data", tmp_path / "model.onnx")


def test_leftovers_of_a_dead_build_py_are_removed_and_named(demo: SystemSpec, inputs: runner.RunArgs):
    experiment = inputs.experiment.resolve()
    stale = experiment / runner.RUNS_DIR / "deadbeef0000"
    stale.mkdir(parents=True)
    (stale / SPEC_FILE).write_text("{}")
    live = experiment / runner.RUNS_DIR / "livebeef0000"
    live.mkdir()
    lock = (live / runner.LOCK_FILE).open("w")
    fcntl.flock(lock, fcntl.LOCK_EX)  # another build.py, still running
    engine = FakeEngine(inputs.experiment)
    dead = {LABEL_EXPERIMENT: str(experiment), LABEL_HOST_PID: "999999999"}
    engine.leftovers = [
        ContainerInfo("msb-dead", {LABEL_EXPERIMENT: str(experiment), LABEL_HOST_PID: "999999999"}),
        ContainerInfo("msb-live", {LABEL_EXPERIMENT: str(experiment), LABEL_HOST_PID: "1"}),
        ContainerInfo("msb-other", {LABEL_EXPERIMENT: "/elsewhere", LABEL_HOST_PID: "999999999"}),
        # Another host's build.py on a shared engine (Slurm nodes as containers): its pid means nothing here.
        ContainerInfo("msb-node2", {LABEL_EXPERIMENT: str(experiment), LABEL_HOST_PID: "999999999", LABEL_HOST: "n2"}),
        ContainerInfo("msb-dead-here", {**dead, LABEL_HOST: socket.gethostname()}),
    ]
    said: list[str] = []
    leftovers.remove(inputs.experiment, engine, said.append)
    lock.close()
    assert engine.removed == ["msb-dead", "msb-dead-here"]
    assert not stale.exists() and live.exists()
    assert any("msb-dead" in line for line in said) and any("deadbeef0000" in line for line in said)
