"""`build.py system detect` and the run command's argument rules, through the CLI entry point."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from msb.cli import main
from msb.project import Project


def test_detect_writes_a_new_description_and_never_overwrites(
    project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "new.yaml"
    assert main(["system", "detect", "--image", "cpu", "--write", str(target)], project) == 0
    data = yaml.safe_load(target.read_text())
    assert data["image"] == "cpu" and data["round"] == "v6.1"  # the image's round
    assert data["systems_json"]["framework"].startswith("ONNX Runtime 1.")
    assert "MLPerf LoadGen 6.0.17" in data["systems_json"]["other_software_stack"]
    assert capsys.readouterr().out == target.read_text()
    assert main(["system", "detect", "--write", str(target)], project) == 2
    assert "exists" in capsys.readouterr().err


def test_detect_takes_the_round_of_the_image_unless_told(
    project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["system", "detect", "--image", "cpu-v5.1"], project) == 0
    assert yaml.safe_load(capsys.readouterr().out)["round"] == "v5.1"
    assert main(["system", "detect", "--image", "cpu", "--round", "v6.0"], project) == 0
    assert yaml.safe_load(capsys.readouterr().out)["round"] == "v6.0"


def test_mode_without_benchmark_and_scenario_is_refused(
    project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["run", "--system", "cpu-demo", "--mode", "accuracy", "--dataset", str(tmp_path), "--model", "m.onnx"],
        project,
    )
    assert code == 2 and "--benchmark" in capsys.readouterr().err


def test_matrix_refuses_a_scenario_outside_the_round(
    project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["run", "--system", "cpu-demo", "--scenario", "Server", "--dataset", str(tmp_path), "--model", "m.onnx"],
        project,
    )
    assert code == 2 and "Server" in capsys.readouterr().err
