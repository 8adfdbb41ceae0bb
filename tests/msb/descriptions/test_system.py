"""System descriptions (msb/descriptions/system.py): strict loading with errors that name the input and the fix,
and the checks against their round at load (v5.x and v6.x): what the round would refuse is refused before any run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.contract import CURRENT_ROUND
from msb.descriptions.rounds import load_round
from msb.descriptions.system import (
    BenchmarkSettings,
    PerScenario,
    SystemSpec,
    load_system_spec,
    parse_system_spec,
)
from msb.errors import SpecError
from msb.project import Project
from msb.run.matrix import plan_matrix


def test_unknown_system_lists_the_valid_ones(project: Project) -> None:
    with pytest.raises(SpecError) as err:
        load_system_spec(project, "nope")
    assert "cpu-demo" in err.value.fix


def test_unknown_benchmark_and_scenario_list_the_valid_ones(project: Project) -> None:
    system = load_system_spec(project, "cpu-demo")
    with pytest.raises(SpecError) as err:
        system.settings("bert", "Offline")
    assert "resnet50" in err.value.fix
    with pytest.raises(SpecError) as err:
        system.settings("resnet50", "Offlne")
    assert "Offline" in err.value.fix


def test_system_cannot_ask_for_uid_zero(project: Project) -> None:
    data = yaml.safe_load((project.systems / "cpu-demo.yaml").read_text())
    data["run"]["uid_when_root"] = 0
    with pytest.raises(SpecError, match="uid_when_root"):
        parse_system_spec(data, "systems/x.yaml")


def test_backend_options_keep_lists_and_numbers(project: Project) -> None:
    """TensorRT's plugins and batch sizes are lists: the description passes them to the backend as written."""
    data = yaml.safe_load((project.systems / "cpu-demo.yaml").read_text())
    data["benchmarks"]["resnet50"]["backend_options"] = {"plugins": ["/models/a.so"], "batch_sizes": [1, 8], "n": 2}
    options = parse_system_spec(data, "systems/x.yaml").benchmarks["resnet50"].backend_options
    assert options == {"plugins": ["/models/a.so"], "batch_sizes": [1, 8], "n": 2}


@pytest.mark.parametrize(
    ("written", "sizes"),
    [
        ("batch_size: 8", {"Offline": 8, "Server": 8, "SingleStream": 8}),  # one size, every scenario (as before)
        ("batch_size:", {"Offline": 1, "Server": 1, "SingleStream": 1}),  # blank: as if the line were not there
        ("batch_size: {Offline: 256, Server: 64}", {"Offline": 256, "Server": 64, "SingleStream": 1}),
        ("batch_size: {default: 8, Server: 64}", {"Offline": 8, "Server": 64, "SingleStream": 8}),
        ("batch_size:\n      Offline: 256  # fits\n      Server:\n      default: 4", {"Offline": 256, "Server": 4}),
    ],
)
def test_batch_size_is_one_for_all_scenarios_or_one_per_scenario(written: str, sizes: dict[str, int]) -> None:
    text = f"resnet50:\n    backend: onnxruntime\n    {written}\n    scenarios: {{Offline: {{}}}}\n"
    bench = parse_system_spec_benchmarks(yaml.safe_load(text))["resnet50"]
    assert {scenario: bench.batch_size(scenario) for scenario in sizes} == sizes


@pytest.mark.parametrize(
    ("written", "counts"),
    [
        ("", {"Offline": None, "Server": None}),  # absent: the runtime's default, for every scenario
        ("threads:", {"Offline": None, "Server": None}),  # blank: as if the line were not there
        ("threads: 4", {"Offline": 4, "Server": 4, "SingleStream": 4}),  # one count, every scenario (as before)
        # Not listed and no default: the runtime's default (None), not 1 as a batch size would be.
        ("threads: {Offline: 16, Server: 4}", {"Offline": 16, "Server": 4, "SingleStream": None}),
        ("threads: {default: 2, Server: 8}", {"Offline": 2, "Server": 8, "MultiStream": 2}),
        ("threads:\n      Offline: 16  # all cores\n      Server:\n", {"Offline": 16, "Server": None}),
    ],
)
def test_threads_are_one_for_all_scenarios_or_one_per_scenario(written: str, counts: dict[str, int | None]) -> None:
    text = f"resnet50:\n    backend: onnxruntime\n    batch_size: {{Server: 2}}\n    {written}\n    scenarios: {{}}\n"
    bench = parse_system_spec_benchmarks(yaml.safe_load(text))["resnet50"]
    assert {scenario: bench.threads(scenario) for scenario in counts} == counts
    assert (bench.batch_size("Server"), bench.batch_size("Offline")) == (2, 1)  # the two settings apart


def parse_system_spec_benchmarks(benchmarks: dict[str, object]) -> dict[str, BenchmarkSettings]:
    data = {"name": "x", "submitter": "y", "division": "closed", "system_type": "edge", "image": "cpu"}
    return parse_system_spec({**data, "systems_json": {}, "benchmarks": benchmarks}, "systems/x.yaml").benchmarks


def test_calibration_batches_at_the_largest_size_given() -> None:
    assert PerScenario(8, {"Server": 64, "Offline": 256}).largest == 256 and PerScenario(4).largest == 4


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


def demo_v6(project: Project, round_name: str) -> dict[str, Any]:
    data = yaml.safe_load((project.systems / "cpu-demo.yaml").read_text())
    data["round"] = round_name
    return data


@pytest.mark.parametrize("round_name", ["v6.0", "v6.1"])
def test_an_edge_system_of_a_v6_round_loads_and_plans_the_round_matrix(
    project: Project, tmp_path: Path, round_name: str
) -> None:
    system = load(project, tmp_path, demo_v6(project, round_name))
    assert system.round == round_name
    runs = plan_matrix(system, load_round(round_name))
    kinds = {(run.benchmark, run.scenario, run.kind) for run in runs}
    assert ("resnet50", "Offline", "TEST04") in kinds
    assert {run.benchmark for run in runs} == {"resnet50"}


@pytest.mark.parametrize("round_name", ["v6.0", "v6.1"])
def test_a_datacenter_system_asking_for_resnet50_is_refused_naming_the_suite(
    project: Project, tmp_path: Path, round_name: str
) -> None:
    data = demo_v6(project, round_name)
    data["system_type"] = "datacenter"
    data["benchmarks"]["resnet50"]["scenarios"] = {"Offline": {"target_qps": 10}}
    with pytest.raises(SpecError) as err:
        load(project, tmp_path, data)
    assert f"resnet50 is not part of the datacenter suite in round {round_name}" in err.value.message
    assert f"round {round_name}'s datacenter suite has none of this project's benchmarks" in err.value.message
    assert "edge" in err.value.fix


def test_server_is_outside_the_edge_suite_in_v61(project: Project, tmp_path: Path) -> None:
    data = demo_v6(project, "v6.1")
    data["benchmarks"]["resnet50"]["scenarios"]["Server"] = {"target_qps": 10}
    with pytest.raises(SpecError, match=r"resnet50 scenario\(s\) Server are not in round v6.1's suite for edge"):
        load(project, tmp_path, data)


def test_retinanet_has_no_rules_in_v61(project: Project, tmp_path: Path) -> None:
    data = demo_v6(project, "v6.1")
    data["benchmarks"]["retinanet"] = {"backend": "onnxruntime", "scenarios": {"Offline": {}}}
    with pytest.raises(SpecError, match=r"benchmark 'retinanet' has no rules in round v6\.1"):
        load(project, tmp_path, data)
