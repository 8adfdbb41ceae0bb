"""Checks made before a run starts: inputs, the image's backends, GPUs. The engine here is a stand-in that answers
what a daemon would; the real daemon is exercised in test_docker_integration.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from msb.descriptions.system import load_system_spec
from msb.engine import EngineInfo
from msb.errors import GpuUnavailable, SpecError
from msb.labels import LABEL_BACKENDS, LABEL_ROUND
from msb.project import Project
from msb.run.expdir import Identity
from msb.run.runner import RunArgs, check_engine, check_inputs, plan, systems_json

IDENT = Identity(invoking_uid=0, container_uid=15000, gid=1500)


class AnsweringEngine:
    """Stand-in for the daemon's answers to inspect and info (no builds, no runs)."""

    def __init__(self, backends: str, runtimes: tuple[str, ...] = ("runc",)) -> None:
        self.labels = {LABEL_BACKENDS: backends}
        self.runtimes = runtimes

    def image_labels(self, ref: str) -> dict[str, str]:
        return self.labels

    def info(self) -> EngineInfo:
        return EngineInfo("20.10", self.runtimes)


def args(tmp_path: Path, **kw: object) -> RunArgs:
    base = {"benchmark": "resnet50", "scenario": "Offline", "mode": "accuracy", "experiment": tmp_path / "e",
            "dataset": tmp_path / "d", "model": tmp_path / "m.onnx"}  # fmt: skip
    base.update(kw)
    return RunArgs(**base)  # type: ignore[arg-type]


def test_gpus_without_an_nvidia_runtime_fail_instead_of_running_on_cpu(project: Project, tmp_path: Path) -> None:
    req = plan(load_system_spec(project, "cpu-demo"), args(tmp_path, gpus="all"), IDENT)
    with pytest.raises(GpuUnavailable) as err:
        check_engine(req, AnsweringEngine("onnxruntime"))  # type: ignore[arg-type]
    assert "NVIDIA" in err.value.message
    check_engine(req, AnsweringEngine("onnxruntime", ("nvidia", "runc")))  # type: ignore[arg-type]


def test_backend_the_image_does_not_carry_is_refused(project: Project, tmp_path: Path) -> None:
    req = plan(load_system_spec(project, "cpu-demo"), args(tmp_path), IDENT)
    with pytest.raises(SpecError) as err:
        check_engine(req, AnsweringEngine("tensorrt"))  # type: ignore[arg-type]
    assert "onnxruntime" in err.value.message and "tensorrt" in err.value.message


def test_missing_or_empty_dataset_and_missing_model_are_named(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="does not exist"):
        check_inputs(args(tmp_path))
    (tmp_path / "d").mkdir()
    with pytest.raises(SpecError, match="is empty"):
        check_inputs(args(tmp_path))
    (tmp_path / "d" / "val_map.txt").write_text("")
    with pytest.raises(SpecError, match=r"m\.onnx"):
        check_inputs(args(tmp_path))
    with pytest.raises(SpecError, match="unknown mode"):
        check_inputs(args(tmp_path, mode="acc"))


def test_systems_json_repeats_the_identity_fields(project: Project) -> None:
    data = systems_json(load_system_spec(project, "cpu-demo"))
    assert data["system_name"] == "cpu_demo" and data["division"] == "closed" and data["system_type"] == "edge"


def test_image_of_another_round_is_refused(project: Project, tmp_path: Path) -> None:
    req = plan(load_system_spec(project, "cpu-demo-dc-v50"), args(tmp_path), IDENT)
    engine = AnsweringEngine("onnxruntime")
    engine.labels[LABEL_ROUND] = "v5.1"
    with pytest.raises(SpecError) as err:
        check_engine(req, engine)  # type: ignore[arg-type]
    assert "round v5.1" in err.value.message and "cpu-v5.0" in err.value.fix
    engine.labels[LABEL_ROUND] = "v5.0"
    check_engine(req, engine)  # type: ignore[arg-type]
