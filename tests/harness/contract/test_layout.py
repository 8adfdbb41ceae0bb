"""The tree layouts as pure path arithmetic: the one definition the harness writes by and our checker reads by."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from harness.contract.layout import V5, V6, ResultLayout, layout_of_round
from msb.descriptions.system import SystemSpec, load_system_spec
from msb.project import Project
from msb.run.matrix_run import write_calibration

SCENARIO = Path("closed/ACME/results/sys/resnet50/Server")


@pytest.fixture
def demo(project: Project) -> SystemSpec:
    return load_system_spec(project, "cpu-demo")


def test_the_round_chooses_the_layout() -> None:
    assert [layout_of_round(r) for r in ("v5.0", "v5.1", "v6.0", "v6.1")] == [V5, V5, V6, V6]


def test_v6_puts_a_scenario_in_its_results_folder() -> None:
    layout = ResultLayout("ACME", "sys", "resnet50", "Server", "onnxruntime-cpu", kind=V6)
    assert layout.measurements_dir == SCENARIO
    assert layout.measurements_json_name == "measurements.json"
    assert layout.compliance_dir("TEST04") == SCENARIO / "TEST04"
    assert layout.code_dir == Path("closed/ACME/src/resnet50/onnxruntime-cpu")
    # The scenario folder also holds the other mode's results: a run replaces its own files, never the folder.
    assert layout.units("accuracy", with_system_json=False) == [
        SCENARIO / "accuracy",
        SCENARIO / "user.conf",
        SCENARIO / "README.md",
        SCENARIO / "measurements.json",
        Path("closed/ACME/src/resnet50/onnxruntime-cpu"),
    ]


def test_v5_is_the_default_and_unchanged() -> None:
    layout = ResultLayout("ACME", "sys", "resnet50", "Server", "onnxruntime-cpu")
    assert layout.measurements_dir == Path("closed/ACME/measurements/sys/resnet50/Server")
    assert layout.compliance_dir("TEST01") == Path("closed/ACME/compliance/sys/resnet50/Server/TEST01")
    assert layout.code_dir == Path("closed/ACME/code/resnet50/onnxruntime-cpu")


def test_an_unknown_layout_is_refused() -> None:
    with pytest.raises(ValueError, match="layout 'v7'"):
        _ = ResultLayout("ACME", "sys", "resnet50", "Server", "impl", kind="v7").measurements_dir


def test_the_calibration_document_goes_where_the_round_keeps_it(tmp_path: Path, demo: SystemSpec) -> None:
    assert write_calibration(tmp_path, demo) == tmp_path / "closed" / "MSB" / "calibration.md"
    v61 = dataclasses.replace(demo, round="v6.1")
    assert write_calibration(tmp_path, v61) == tmp_path / "closed" / "MSB" / "documentation" / "calibration.md"


def test_layout_follows_the_v51_tree() -> None:
    layout = ResultLayout("ACME", "sys", "resnet50", "Server", "onnxruntime-cpu")
    assert layout.result_dir("performance") == Path("closed/ACME/results/sys/resnet50/Server/performance/run_1")
    assert layout.measurements_json_name == "sys_onnxruntime-cpu_Server.json"
    with pytest.raises(ValueError, match="mode"):
        layout.result_dir("compliance")
