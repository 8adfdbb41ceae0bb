"""Whole-Dockerfile equality for every image definition, on a CPU machine with no engine.

Regenerate after an intended change with `make golden` and review the diff like code.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from msb.descriptions.image import image_names, load_image_spec
from msb.image.builder import load_templates
from msb.image.provenance import collect
from msb.image.render import base_ref, render_dockerfile
from msb.project import Project

GOLDEN = Path(__file__).parent / "golden"
# The bootstrapped base's image ID differs per machine; the golden render uses a fixed one.
FIXED_BOOTSTRAP_ID = "sha256:" + "b" * 64


def render_fixed(project: Project, name: str) -> str:
    spec = load_image_spec(project, name)
    provenance = dataclasses.replace(collect(project, spec), revision="0" * 40, created="2026-01-01T00:00:00+00:00")
    local_id = FIXED_BOOTSTRAP_ID if spec.base.bootstrap else None
    base = base_ref(spec, local_id, allow_unpinned=True)
    return render_dockerfile(spec, load_templates(project), base, provenance)


def test_every_image_has_a_golden_file(project: Project) -> None:
    assert sorted(image_names(project)) == sorted(p.name.removeprefix("Dockerfile.") for p in GOLDEN.iterdir())


@pytest.mark.parametrize("name", image_names(Project(Path(__file__).resolve().parent.parent)))
def test_rendered_dockerfile_equals_golden(project: Project, name: str, update_golden: bool) -> None:
    rendered = render_fixed(project, name)
    golden = GOLDEN / f"Dockerfile.{name}"
    if update_golden:
        golden.write_text(rendered)
    assert rendered == golden.read_text(), f"render of {name} changed: run `make golden` if intended"


def test_render_is_deterministic(project: Project) -> None:
    assert render_fixed(project, "cpu") == render_fixed(project, "cpu")
