"""Manifests of result units (msb/run/manifest.py) written around runs of the engine stand-in, and the errors of
reading one back (msb/run/reproduce.py)."""

from __future__ import annotations

import dataclasses
import json
import socket
from pathlib import Path

import pytest

from msb.descriptions.system import load_system_spec
from msb.errors import SpecError
from msb.project import Project
from msb.run import manifest, reproduce, runner
from msb.run.expdir import Identity
from tests.support.fake_engine import FakeEngine

IDENT = Identity(invoking_uid=0, container_uid=15000, gid=1500)
UNIT = "closed/MSB/results/cpu_demo/resnet50/Offline/accuracy"


@pytest.fixture
def made(project: Project, tmp_path: Path) -> Path:
    """One accuracy run through the stand-in, its manifest written as build.py run writes it."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "val_map.txt").write_text("a.JPEG 0\n")
    (tmp_path / "model.onnx").write_bytes(b"onnx")
    system = load_system_spec(project, "cpu-demo")
    args = runner.RunArgs(
        "resnet50", "Offline", "accuracy", tmp_path / "exp", tmp_path / "data", tmp_path / "model.onnx"
    )
    plan = runner.plan(system, args, IDENT)
    engine = FakeEngine(tmp_path / "exp")
    record = runner.execute(plan, engine, IDENT, on_output=lambda line: None)
    record = dataclasses.replace(record, readme="")
    manifest.record_result(plan, record, system, engine)
    return tmp_path / "exp"


def test_a_manifest_holds_what_made_the_unit_in_a_stable_order(made: Path) -> None:
    path = made / ".msb" / "manifests" / f"{UNIT}.json"
    text = path.read_text()
    data = json.loads(text)
    assert list(data) == sorted(data)  # two manifests diff line by line
    assert data["unit"] == UNIT and data["schema"] == manifest.SCHEMA
    assert data["system"]["name"] == "cpu_demo" and "name: cpu_demo" in data["system"]["description"]
    assert data["spec"]["benchmark"] == "resnet50" and data["docker_run"][:2] == ["docker", "run"]
    assert data["mounts"]["/data/dataset"] == str(made.parent / "data")
    assert data["tool"]["version"] and data["host"]["cores"] >= 1
    assert data["node"] == socket.gethostname() and data["slurm_job_id"] is None  # a local run: no Slurm job
    assert manifest.manifest_text(data) == text


def test_a_unit_folder_or_its_manifest_finds_the_same_original(made: Path) -> None:
    by_folder = reproduce.find_manifest(made / UNIT)
    by_file = reproduce.find_manifest(made / ".msb" / "manifests" / f"{UNIT}.json")
    assert by_folder.experiment == by_file.experiment == made.resolve()


def test_files_that_are_not_manifests_are_named(tmp_path: Path, made: Path) -> None:
    path = made / ".msb" / "manifests" / "x.json"
    for text, words in (
        ("not json", "not JSON"),
        ("[1]", "is not a manifest"),
        (json.dumps({"schema": 99, "spec": {}}), "schema 99"),
    ):
        path.write_text(text)
        with pytest.raises(SpecError, match=words):
            reproduce.find_manifest(path)
    with pytest.raises(SpecError, match="no manifest records"):
        reproduce.find_manifest(made / "closed")
    with pytest.raises(SpecError, match="does not exist"):
        reproduce.find_manifest(tmp_path / "nowhere")


def test_changed_inputs_are_refused_naming_the_file(made: Path) -> None:
    data = json.loads((made / ".msb" / "manifests" / f"{UNIT}.json").read_text())
    data["dataset"] = {"files": [["val_map.txt", 9, "0" * 64]]}
    with pytest.raises(reproduce.InputsChanged, match=r"val_map\.txt has changed"):
        reproduce.check_inputs(data)
    data["dataset"] = {"files": [["gone.JPEG", 9, "0" * 64]]}
    with pytest.raises(reproduce.InputsChanged, match=r"gone\.JPEG is gone"):
        reproduce.check_inputs(data)
