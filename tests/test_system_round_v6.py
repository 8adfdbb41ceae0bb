"""System descriptions of a v6.x round: they load and are checked against that round's suite, in which no benchmark
of this project is a datacenter one. The default round stays v5.1 (the demo's); v6.x systems name it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from msb.descriptions.rounds import load_round
from msb.descriptions.system import SystemSpec, load_system_spec
from msb.errors import SpecError
from msb.project import Project
from msb.run.matrix import plan_matrix


def demo(project: Project, round_name: str) -> dict[str, Any]:
    data = yaml.safe_load((project.systems / "cpu-demo.yaml").read_text())
    data["round"] = round_name
    return data


def load(project: Project, tmp_path: Path, data: dict[str, Any]) -> SystemSpec:
    path = tmp_path / "sys.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_system_spec(project, str(path))


@pytest.mark.parametrize("round_name", ["v6.0", "v6.1"])
def test_an_edge_system_of_a_v6_round_loads_and_plans_the_round_matrix(
    project: Project, tmp_path: Path, round_name: str
) -> None:
    system = load(project, tmp_path, demo(project, round_name))
    assert system.round == round_name
    runs = plan_matrix(system, load_round(round_name))
    kinds = {(run.benchmark, run.scenario, run.kind) for run in runs}
    assert ("resnet50", "Offline", "TEST04") in kinds
    assert {run.benchmark for run in runs} == {"resnet50"}


@pytest.mark.parametrize("round_name", ["v6.0", "v6.1"])
def test_a_datacenter_system_asking_for_resnet50_is_refused_naming_the_suite(
    project: Project, tmp_path: Path, round_name: str
) -> None:
    data = demo(project, round_name)
    data["system_type"] = "datacenter"
    data["benchmarks"]["resnet50"]["scenarios"] = {"Offline": {"target_qps": 10}}
    with pytest.raises(SpecError) as err:
        load(project, tmp_path, data)
    assert f"resnet50 is not part of the datacenter suite in round {round_name}" in err.value.message
    assert f"round {round_name}'s datacenter suite has none of this project's benchmarks" in err.value.message
    assert "edge" in err.value.fix


def test_server_is_outside_the_edge_suite_in_v61(project: Project, tmp_path: Path) -> None:
    data = demo(project, "v6.1")
    data["benchmarks"]["resnet50"]["scenarios"]["Server"] = {"target_qps": 10}
    with pytest.raises(SpecError, match=r"resnet50 scenario\(s\) Server are not in round v6.1's suite for edge"):
        load(project, tmp_path, data)


def test_retinanet_has_no_rules_in_v61(project: Project, tmp_path: Path) -> None:
    data = demo(project, "v6.1")
    data["benchmarks"]["retinanet"] = {"backend": "onnxruntime", "scenarios": {"Offline": {}}}
    with pytest.raises(SpecError, match=r"benchmark 'retinanet' has no rules in round v6\.1"):
        load(project, tmp_path, data)
