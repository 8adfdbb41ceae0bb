"""`build.py image NAME`: resolve the base, render, fetch the locked wheels, assemble the context, build."""

from __future__ import annotations

import contextlib
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from msb.descriptions.image import ImageSpec, load_image_spec
from msb.descriptions.lockfile import read_lock
from msb.engine import Engine, created_images
from msb.errors import ContentDrift
from msb.image.bootstrap import ensure_base
from msb.image.content import Content, diff, diff_lines, digest_chunks
from msb.image.context import assemble
from msb.image.lock import fetch_locked_wheels
from msb.image.provenance import collect
from msb.image.render import BaseRef, base_ref, render_dockerfile
from msb.labels import IMAGE_REPOSITORY, LABEL_CONTENT, image_ref
from msb.project import Project

UNRESOLVED_BOOTSTRAP = "sha256:<image-id-of-the-bootstrapped-base>"


@dataclass(frozen=True)
class BuiltImage:
    image_id: str
    tags: list[str]
    base: BaseRef
    content: Content


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


@dataclass(frozen=True)
class Prepared:
    """A build's inputs, assembled: the context folder, the base it builds on, the tags it gets."""

    context: Path
    base: BaseRef
    tags: list[str]


@contextlib.contextmanager
def prepared(
    project: Project, name: str, engine: Engine, allow_unpinned: bool, log: Callable[[str], None], repository: str
) -> Iterator[Prepared]:
    spec = load_image_spec(project, name)
    local_id = ensure_base(spec, engine, log) if spec.base.bootstrap is not None else None
    base = base_ref(spec, local_id, allow_unpinned)
    dockerfile = dockerfile_for(project, spec, base)
    wheels = fetch_locked_wheels(project, spec)
    tags = image_tags(spec, collect(project, spec).revision, repository)
    with tempfile.TemporaryDirectory(prefix=f"msb-context-{name}-") as tmp:
        yield Prepared(assemble(Path(tmp) / "context", dockerfile, spec.lock_path, wheels, project.harness), base, tags)


def build(
    project: Project,
    name: str,
    engine: Engine,
    allow_unpinned: bool,
    log: Callable[[str], None],
    repository: str = IMAGE_REPOSITORY,
    no_cache: bool = False,
) -> BuiltImage:
    """Build the filesystem, take its content digest, and tag the image that carries the digest as a label."""
    with prepared(project, name, engine, allow_unpinned, log, repository) as inputs:
        filesystem_id = engine.build(inputs.context, [], log, nocache=no_cache)
    content = image_content(engine, filesystem_id)
    image_id = add_content_label(engine, filesystem_id, content.sha256, inputs.tags, log)
    return BuiltImage(image_id, inputs.tags, inputs.base, content)


def image_content(engine: Engine, ref: str) -> Content:
    # closing(): the export's container is removed even if the tar reader stops before the stream's end.
    with contextlib.closing(engine.export_filesystem(ref)) as chunks:
        return digest_chunks(chunks)


def add_content_label(engine: Engine, image: str, digest: str, tags: list[str], log: Callable[[str], None]) -> str:
    """`FROM image` + `LABEL`: a build step that adds no layer, so the digest the label states stays the digest of
    the tagged image's filesystem. A label travels with the image (save, load, another host) where a file beside
    the tool would not, and anyone can check it with `docker export`."""
    with tempfile.TemporaryDirectory(prefix="msb-label-") as tmp:
        (Path(tmp) / "Dockerfile").write_text(f'FROM {image}\nLABEL {LABEL_CONTENT}="sha256:{digest}"\n')
        return engine.build(Path(tmp), tags, log)


def verify(
    project: Project,
    name: str,
    engine: Engine,
    allow_unpinned: bool,
    log: Callable[[str], None],
    repository: str = IMAGE_REPOSITORY,
) -> BuiltImage:
    """Build (cache allowed), rebuild with no cache under a temporary tag, and raise ContentDrift if the two
    filesystems differ. The rebuild's images are removed either way."""
    built = build(project, name, engine, allow_unpinned, log, repository)
    rebuilt = rebuild_content(project, name, engine, allow_unpinned, log, repository)
    found = diff(built.content, rebuilt)
    if found.paths or rebuilt.sha256 != built.content.sha256:
        listing = "\n".join(f"    {line}" for line in diff_lines(found))
        raise ContentDrift(
            f"a no-cache rebuild of {name} has another filesystem (content sha256:{rebuilt.sha256}, not"
            f" sha256:{built.content.sha256}): {found.paths} path(s) differ"
            f" (+ added, - removed, ~ changed):\n{listing}",
            "make the build write those paths the same way every time (no times, caches or compiled files)",
        )
    return built


def rebuild_content(
    project: Project, name: str, engine: Engine, allow_unpinned: bool, log: Callable[[str], None], repository: str
) -> Content:
    temporary = image_ref(name, f"verify-{uuid.uuid4().hex[:12]}", repository)
    lines: list[str] = []

    def keep(line: str) -> None:
        lines.append(line)
        log(line)

    try:
        with prepared(project, name, engine, allow_unpinned, log, repository) as inputs:
            engine.build(inputs.context, [temporary], keep, nocache=True)
        return image_content(engine, temporary)
    finally:
        engine.remove_image(temporary)
        # The dependency stage is no parent of the temporary image: its images go one by one, newest first.
        for image in reversed(created_images(lines)):
            engine.remove_image(image)
