"""Image definitions and system descriptions: strict loading with errors that name the input and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from msb.descriptions.image import load_image_spec, parse_image_spec
from msb.descriptions.system import BenchmarkSettings, PerScenario, RunOptions, load_system_spec, parse_system_spec
from msb.errors import SpecError
from msb.project import Project


def test_unknown_image_lists_the_valid_ones(project: Project) -> None:
    with pytest.raises(SpecError) as err:
        load_image_spec(project, "cpux")
    assert "cpux" in err.value.message
    assert "cpu, cpu-v5.0, cpu-v5.1, cpu-v6.0, pytorch-cuda, tensorrt-10, tensorrt-8.6.1" in err.value.fix


def test_misspelt_field_in_an_image_definition_is_named(project: Project, tmp_path: Path) -> None:
    data = yaml.safe_load((project.images / "cpu.yaml").read_text())
    data["requirments"] = data.pop("requirements")
    with pytest.raises(SpecError) as err:
        parse_image_spec(data, tmp_path / "cpu.yaml")
    assert "requirements" in err.value.message  # the missing one
    data["requirements"] = []
    with pytest.raises(SpecError) as err:
        parse_image_spec(data, tmp_path / "cpu.yaml")
    assert "requirments" in err.value.message  # the unknown one


@pytest.mark.parametrize(
    ("name", "tensorrt", "cuda", "round_name"),
    [("tensorrt-8.6.1", "8.6.1", "12.", "v5.1"), ("tensorrt-10", "10.14.", "13.", "v6.1")],
)
def test_tensorrt_definitions_record_their_versions(
    project: Project, name: str, tensorrt: str, cuda: str, round_name: str
) -> None:
    spec = load_image_spec(project, name)
    assert spec.versions["tensorrt"].startswith(tensorrt)
    assert spec.versions["cuda"].startswith(cuda)
    assert {"cudnn", "ubuntu", "python"} <= set(spec.versions)
    assert spec.versions["python"] == spec.python.version
    assert (spec.round, spec.gid) == (round_name, 1500)


def test_tensorrt_10_locks_cuda_python_for_cuda_13_and_the_v61_loadgen(project: Project) -> None:
    requirements = load_image_spec(project, "tensorrt-10").requirements
    assert "cuda-python==13.0.3" in requirements and "mlcommons-loadgen==6.0.17" in requirements
    assert any(r.startswith("numpy==2.") for r in requirements)


def test_image_user_defaults_to_the_uid_used_when_root_invokes_the_tool(project: Project, tmp_path: Path) -> None:
    assert load_image_spec(project, "cpu").uid == RunOptions().uid_when_root == 15000
    data = yaml.safe_load((project.images / "cpu.yaml").read_text())
    assert parse_image_spec({**data, "uid": 2000}, tmp_path / "cpu.yaml").uid == 2000


def test_image_user_cannot_be_root(project: Project, tmp_path: Path) -> None:
    data = yaml.safe_load((project.images / "cpu.yaml").read_text())
    with pytest.raises(SpecError, match="uid: 0 would run the image as root"):
        parse_image_spec({**data, "uid": 0}, tmp_path / "cpu.yaml")


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
