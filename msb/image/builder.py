"""`build.py image NAME`: resolve the base, render, fetch the locked wheels, assemble the context, build."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from msb.descriptions.image import ImageSpec, load_image_spec
from msb.descriptions.lockfile import read_lock
from msb.engine import Engine
from msb.image.bootstrap import ensure_base
from msb.image.context import assemble
from msb.image.lock import fetch_locked_wheels
from msb.image.provenance import collect
from msb.image.render import BaseRef, base_ref, render_dockerfile
from msb.labels import IMAGE_REPOSITORY, image_ref
from msb.project import Project

UNRESOLVED_BOOTSTRAP = "sha256:<image-id-of-the-bootstrapped-base>"


@dataclass(frozen=True)
class BuiltImage:
    image_id: str
    tags: list[str]
    base: BaseRef


def image_tags(spec: ImageSpec, revision: str, repository: str = IMAGE_REPOSITORY) -> list[str]:
    """`REPO/NAME:latest` for people, `REPO/NAME:<revision>` so a result can name the exact build."""
    short = revision.replace("-dirty", "")[:12]
    suffix = "-dirty" if revision.endswith("-dirty") else ""
    return [image_ref(spec.name, repository=repository), image_ref(spec.name, f"{short}{suffix}", repository)]


def load_templates(project: Project) -> dict[str, str]:
    return {
        path.relative_to(project.templates).as_posix(): path.read_text() for path in project.templates.rglob("*.j2")
    }


def dockerfile_for(project: Project, spec: ImageSpec, base: BaseRef) -> str:
    read_lock(spec)  # a stale or missing lock fails here, before anything is built
    return render_dockerfile(spec, load_templates(project), base, collect(project, spec))


def dry_run(project: Project, name: str, engine: Engine | None, allow_unpinned: bool) -> str:
    """The Dockerfile a build would use. Needs no engine; a bootstrapped base not yet present shows a placeholder."""
    spec = load_image_spec(project, name)
    local_id = None
    if spec.base.bootstrap is not None:
        local_id = (engine.image_id(spec.base.ref) if engine else None) or UNRESOLVED_BOOTSTRAP
    return dockerfile_for(project, spec, base_ref(spec, local_id, allow_unpinned))


def build(
    project: Project,
    name: str,
    engine: Engine,
    allow_unpinned: bool,
    log: Callable[[str], None],
    repository: str = IMAGE_REPOSITORY,
    no_cache: bool = False,
) -> BuiltImage:
    spec = load_image_spec(project, name)
    local_id = ensure_base(spec.base, engine, log) if spec.base.bootstrap is not None else None
    base = base_ref(spec, local_id, allow_unpinned)
    dockerfile = dockerfile_for(project, spec, base)
    wheels = fetch_locked_wheels(project, spec)
    tags = image_tags(spec, collect(project, spec).revision, repository)
    with tempfile.TemporaryDirectory(prefix=f"msb-context-{name}-") as tmp:
        context = assemble(Path(tmp) / "context", dockerfile, spec.lock_path, wheels, project.harness)
        image_id = engine.build(context, tags, log, no_cache)
    return BuiltImage(image_id, tags, base)
