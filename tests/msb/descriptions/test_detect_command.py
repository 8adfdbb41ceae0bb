"""`build.py system detect` and the run command's argument rules, through the CLI entry point."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from msb.cli import main
from msb.descriptions import detect_command
from msb.descriptions.image import load_image_spec
from msb.errors import MsbError
from msb.labels import LABEL_BACKENDS, image_ref, version_label
from msb.project import Project


class BuiltImages:
    """The engine's image labels, for images built from the named definitions (as msb.image.render labels them)."""

    def __init__(self, project: Project, *names: str) -> None:
        self.labels = {}
        for name in names:
            spec = load_image_spec(project, name)
            labels = {LABEL_BACKENDS: ",".join(spec.backends)}
            labels.update({version_label(k): v for k, v in spec.versions.items()})
            self.labels[image_ref(name)] = labels

    def image_labels(self, ref: str) -> dict[str, str]:
        if ref not in self.labels:
            raise MsbError(f"image {ref} does not exist here", "build it first: python3 build.py image NAME")
        return self.labels[ref]


@pytest.fixture
def built(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = BuiltImages(project, "cpu", "cpu-v5.1")
    monkeypatch.setattr(detect_command, "DockerEngine", lambda: engine)


def test_detect_writes_a_new_description_and_never_overwrites(
    project: Project, built: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
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
    project: Project, built: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["system", "detect"], project) == 0
    assert yaml.safe_load(capsys.readouterr().out)["round"] == "v6.1"  # no image, no --round: the current round
    assert main(["system", "detect", "--image", "cpu-v5.1"], project) == 0
    assert yaml.safe_load(capsys.readouterr().out)["round"] == "v5.1"
    assert main(["system", "detect", "--image", "cpu", "--round", "v6.0"], project) == 0
    assert yaml.safe_load(capsys.readouterr().out)["round"] == "v6.0"


def test_detect_refuses_an_image_that_is_not_built(
    project: Project, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The software fields come from the built image's labels, never from what its definition asks for."""
    engine = BuiltImages(project)
    monkeypatch.setattr(detect_command, "DockerEngine", lambda: engine)
    assert main(["system", "detect", "--image", "cpu"], project) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "error: --image cpu: cannot read the built image msb/cpu:latest" in captured.err
    assert "fix: build it first (`build.py image cpu`)" in captured.err and "Traceback" not in captured.err


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
