"""msb/run/reproduce_command.py: a manifest that does not say which image definition made its result is refused
with a fix; nothing falls back to another image."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from msb.cli import main
from msb.project import Project
from msb.run import reproduce_command
from msb.run.manifest import MANIFESTS_DIR, SCHEMA


def manifest(project: Project, tmp_path: Path, labels: dict[str, str]) -> Path:
    """A manifest complete but for what `labels` leaves out (its system: the demo's, as recorded)."""
    path = tmp_path / "exp" / MANIFESTS_DIR / "closed" / "unit.json"
    path.parent.mkdir(parents=True)
    system = {"description": (project.root / "systems" / "cpu-demo-v61.yaml").read_text()}
    data = {"schema": SCHEMA, "spec": {}, "image": {"labels": labels}, "system": system, "unit": "closed/unit"}
    path.write_text(json.dumps(data))
    return path


def test_a_manifest_without_the_image_label_is_bad_input_naming_it(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_engine() -> None:
        raise AssertionError("nothing may start before the manifest is checked")

    monkeypatch.setattr(reproduce_command, "DockerEngine", no_engine)
    path = manifest(project, tmp_path, {"io.mlperf-builder.round": "v6.1"})
    assert main(["reproduce", str(path)], project) == 2
    err = capsys.readouterr().err
    assert f"error: manifest {path} records no image definition (label io.mlperf-builder.image" in err
    assert "fix: rebuild the image with `build.py image NAME`" in err and "Traceback" not in err
