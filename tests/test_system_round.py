"""System descriptions checked against their round at load: what the round would refuse is refused before any run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.contract import CURRENT_ROUND
from msb.descriptions.rounds import load_round
from msb.descriptions.system import SystemSpec, load_system_spec
from msb.errors import SpecError
from msb.project import Project
from msb.run.matrix import plan_matrix


def demo(project: Project) -> dict[str, Any]:
    return yaml.safe_load((project.systems / "cpu-demo.yaml").read_text())


def load(project: Project, tmp_path: Path, data: dict[str, Any]) -> SystemSpec:
    path = tmp_path / "sys.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_system_spec(project, str(path))


def test_shipped_systems_are_valid_for_their_rounds(project: Project) -> None:
    assert load_system_spec(project, "cpu-demo").round == "v5.1"
    v50 = load_system_spec(project, "cpu-demo-dc-v50")
    assert (v50.round, v50.system_type, v50.image) == ("v5.0", "datacenter", "cpu-v5.0")
    assert set(v50.benchmarks["resnet50"].scenarios) == {"Server", "Offline"}


def test_round_defaults_to_the_current_round(project: Project, tmp_path: Path) -> None:
    data = demo(project)
    del data["round"]
    assert load(project, tmp_path, data).round == CURRENT_ROUND == "v6.1"


def test_missing_systems_json_field_is_named_with_the_valid_list(project: Project, tmp_path: Path) -> None:
    data = demo(project)
    del data["systems_json"]["cooling"]
    with pytest.raises(SpecError) as err:
        load(project, tmp_path, data)
    assert "missing field(s) cooling" in err.value.message
    assert "host_memory_capacity" in err.value.fix


def test_misspelt_systems_json_field_is_named_with_what_it_resembles(project: Project, tmp_path: Path) -> None:
    data = demo(project)
    data["systems_json"]["host_memory_capacty"] = data["systems_json"].pop("host_memory_capacity")
    with pytest.raises(SpecError) as err:
        load(project, tmp_path, data)
    assert "host_memory_capacty (did you mean host_memory_capacity?)" in err.value.message


def test_datacenter_resnet50_is_refused_in_v51_with_the_rule(project: Project, tmp_path: Path) -> None:
    data = demo(project)
    data["system_type"] = "datacenter"
    data["benchmarks"]["resnet50"]["scenarios"] = {"Offline": {"target_qps": 10}}
    with pytest.raises(SpecError) as err:
        load(project, tmp_path, data)
    assert "resnet50 is not part of the datacenter suite in round v5.1" in err.value.message
    data["round"] = "v5.0"  # the same system is valid in v5.0
    assert load(project, tmp_path, data).system_type == "datacenter"


def test_scenario_outside_the_suite_is_refused(project: Project, tmp_path: Path) -> None:
    data = demo(project)
    data["benchmarks"]["resnet50"]["scenarios"]["Server"] = {"target_qps": 10}
    with pytest.raises(SpecError) as err:
        load(project, tmp_path, data)
    assert "Server" in err.value.message and "edge" in err.value.message
    assert "SingleStream, MultiStream, Offline" in err.value.fix


def test_unknown_round_lists_the_rounds(project: Project, tmp_path: Path) -> None:
    data = demo(project)
    data["round"] = "v9.9"
    with pytest.raises(SpecError) as err:
        load(project, tmp_path, data)
    assert "v9.9" in err.value.message and "v5.0, v5.1" in err.value.fix


def test_todo_placeholders_are_refused(project: Project, tmp_path: Path) -> None:
    data = demo(project)
    data["systems_json"]["cooling"] = "TODO: air or liquid"
    with pytest.raises(SpecError, match="still TODO: cooling"):
        load(project, tmp_path, data)


def ssd(data: dict[str, Any], outside_round: bool | None) -> dict[str, Any]:
    data["benchmarks"]["ssd-resnet34"] = {"backend": "onnxruntime", "scenarios": {"Offline": {"target_qps": 5}}}
    if outside_round is not None:
        data["benchmarks"]["ssd-resnet34"]["outside_round"] = outside_round
    return data


def test_benchmark_the_round_lacks_needs_an_explicit_outside_round(project: Project, tmp_path: Path) -> None:
    with pytest.raises(SpecError) as err:
        load(project, tmp_path, ssd(demo(project), None))
    assert "ssd-resnet34" in err.value.message and "outside_round: true" in err.value.fix
    system = load(project, tmp_path, ssd(demo(project), True))
    assert system.benchmarks["ssd-resnet34"].outside_round


def test_outside_round_on_a_benchmark_the_round_has_is_refused(project: Project, tmp_path: Path) -> None:
    data = demo(project)
    data["benchmarks"]["resnet50"]["outside_round"] = True
    with pytest.raises(SpecError, match="has rules for it"):
        load(project, tmp_path, data)


def test_outside_round_benchmarks_never_join_the_matrix(project: Project, tmp_path: Path) -> None:
    system = load(project, tmp_path, ssd(demo(project), True))
    profile = load_round("v5.1", project.rounds)
    assert {run.benchmark for run in plan_matrix(system, profile)} == {"resnet50"}
    with pytest.raises(SpecError, match="no matrix"):
        plan_matrix(system, profile, benchmark="ssd-resnet34")
