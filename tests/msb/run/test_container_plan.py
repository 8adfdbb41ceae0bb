"""msb/run/container_plan.py: run, find-peak and calibrate get one container plan (user, mounts, GPUs, labels), and
`--gpus` is checked in one place for every command that starts a container."""

from __future__ import annotations

import dataclasses
import socket
from pathlib import Path

import pytest

from harness.contract import CONTAINER_DATASET, CONTAINER_EXPERIMENT, CONTAINER_MODEL_DIR
from msb.calibrate.plan import CalibrateArgs
from msb.calibrate.plan import plan as plan_calibration
from msb.cli import main
from msb.descriptions.calibration_lists import load_defaults
from msb.descriptions.system import load_system_spec
from msb.labels import LABEL_EXPERIMENT, LABEL_HOST, LABEL_HOST_PID, LABEL_RUN
from msb.project import Project
from msb.run.expdir import Identity
from msb.run.runner import RunArgs
from msb.run.runner import plan as plan_run

IDENT = Identity(invoking_uid=1000, container_uid=1000, gid=1500)


def test_a_run_and_a_calibration_of_one_system_get_the_same_container(project: Project, tmp_path: Path) -> None:
    system = load_system_spec(project, "cpu-demo-v61-int8")
    system = dataclasses.replace(system, run=dataclasses.replace(system.run, ulimits={"memlock": "-1"}))
    model, data, exp = tmp_path / "m" / "model.onnx", tmp_path / "data", tmp_path / "exp"
    run = plan_run(system, RunArgs("resnet50", "Offline", "accuracy", exp, data, model, gpus="all"), IDENT).container
    calibration = plan_calibration(
        system,
        CalibrateArgs("resnet50", model, data, exp, gpus="all"),
        load_defaults(project.calibration_lists, "resnet50"),
        IDENT,
    ).container
    for container in (run, calibration):
        assert (container.image, container.user, container.gpus) == ("msb/cpu:latest", "1000:1500", "all")
        assert (container.shm_size, container.ulimits) == ("1g", {"memlock": "-1"})
        assert [(m.source, m.target, m.read_only) for m in container.mounts[:3]] == [
            (exp.resolve(), CONTAINER_EXPERIMENT, False),
            (data.resolve(), CONTAINER_DATASET, True),
            (model.parent.resolve(), CONTAINER_MODEL_DIR, True),
        ]
        assert container.labels[LABEL_EXPERIMENT] == str(exp.resolve()) and LABEL_HOST_PID in container.labels
        assert container.labels[LABEL_HOST] == socket.gethostname()
        assert container.name.startswith("msb-cpu-demo-int8-resnet50-")
        assert container.name.endswith(container.labels[LABEL_RUN][:8])
    assert run.name.split("-")[-3:-1] == ["offline", "accuracy"] and "-calibrate-" in calibration.name
    assert all(m.read_only for m in calibration.mounts[3:])  # the calibration list: read-only too


def calibrate_argv(tmp_path: Path, gpus: str) -> list[str]:
    return [
        "calibrate", "--system", "cpu-demo-v61-int8", "--benchmark", "resnet50", "--model", str(tmp_path / "m.onnx"),
        "--dataset", str(tmp_path), "--gpus", gpus,
    ]  # fmt: skip


def run_argv(tmp_path: Path, gpus: str) -> list[str]:
    return [
        "run", "--system", "cpu-demo-v61", "--benchmark", "resnet50", "--scenario", "Offline", "--mode", "accuracy",
        "--model", str(tmp_path / "m.onnx"), "--dataset", str(tmp_path), "--gpus", gpus, "--print-command",
    ]  # fmt: skip


@pytest.mark.parametrize("argv", [calibrate_argv, run_argv])
@pytest.mark.parametrize("gpus", ["two", "0", "device=", "all,2"])
def test_a_bad_gpus_is_bad_input_naming_the_flag_and_its_forms(
    project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: object, gpus: str
) -> None:
    assert callable(argv)
    assert main(argv(tmp_path, gpus), project) == 2
    captured = capsys.readouterr()
    assert captured.err == f"error: --gpus {gpus!r} is not a GPU request\n  fix: use all, a count (2) or device=0,1\n"
    assert captured.out == ""
