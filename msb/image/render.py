"""Rendering a Dockerfile: a pure function of the image definition, the templates' text, the base reference and the
provenance. No files, no Docker, no clock: the same inputs give the same bytes (golden-tested)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import jinja2

from msb.descriptions.image import ImageSpec
from msb.errors import UnpinnedBase
from msb.image.provenance import Provenance
from msb.labels import NAMESPACE

MAIN_TEMPLATE = "Dockerfile.j2"
SITE_DIR = "/opt/msb/site"
CODE_DIR = "/opt/msb"
WORK_DIR = "/work"
HOME_DIR = "/tmp"  # writable by any uid, so HOME works for the image's user and for any `--user`


@dataclass(frozen=True)
class BaseRef:
    """What FROM names. A registry base is `repo:tag@digest`; a bootstrapped one its local image ID, which the
    classic builder accepts in FROM (it has no registry digest)."""

    from_ref: str
    digest: str | None
    note: str


def base_ref(spec: ImageSpec, local_id: str | None, allow_unpinned: bool) -> BaseRef:
    """Choose the FROM reference; refuse an unpinned base unless explicitly allowed."""
    base = spec.base
    if base.bootstrap is not None:
        if local_id is None:
            raise UnpinnedBase(f"bootstrapped base {base.ref} is not present", "build it first (build.py image does)")
        note = f"{base.ref}, bootstrapped here (debootstrap {base.bootstrap.variant} {base.bootstrap.suite})"
        return BaseRef(local_id, local_id, note)
    if base.digest:
        return BaseRef(f"{base.ref}@{base.digest}", base.digest, f"{base.ref}, pinned by digest")
    if not allow_unpinned:
        raise UnpinnedBase(
            f"image '{spec.name}': base {base.ref} has no digest, so the build would not be reproducible",
            f"run `python3 build.py lock {spec.name}` where the registry is reachable, or pass --allow-unpinned",
        )
    return BaseRef(base.ref, None, f"{base.ref}, UNPINNED (built with --allow-unpinned)")


def labels(spec: ImageSpec, base: BaseRef, provenance: Provenance) -> list[tuple[str, str]]:
    """OCI labels plus ours; sorted so the render is deterministic."""
    ours = {
        "image": spec.name,
        "round": spec.round,
        "backends": ",".join(spec.backends),
        "template-sha256": provenance.template_sha256,
        "definition-sha256": provenance.definition_sha256,
        "lock-sha256": provenance.lock_sha256,
        "base-ref": spec.base.ref,
        "base-digest": base.digest or "unpinned",
        "gid": str(spec.gid),
        "uid": str(spec.uid),
        **{f"versions.{key}": value for key, value in spec.versions.items()},
    }
    oci = {
        "title": f"mlperf-submission-builder {spec.name}",
        "description": spec.description,
        "revision": provenance.revision,
        "created": provenance.created,
        "source": provenance.source,
        "version": provenance.version,
    }
    pairs = [(f"org.opencontainers.image.{k}", v) for k, v in oci.items()]
    pairs += [(f"{NAMESPACE}.{k}", v) for k, v in ours.items()]
    return sorted(pairs)


def quoted(value: str) -> str:
    """A double-quoted Dockerfile word (LABEL values may hold spaces and commas)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_dockerfile(spec: ImageSpec, templates: Mapping[str, str], base: BaseRef, provenance: Provenance) -> str:
    env = jinja2.Environment(
        loader=jinja2.DictLoader(dict(templates)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["quoted"] = quoted
    return env.get_template(MAIN_TEMPLATE).render(
        spec=spec,
        base=base,
        labels=labels(spec, base, provenance),
        site_dir=SITE_DIR,
        code_dir=CODE_DIR,
        work_dir=WORK_DIR,
        home_dir=HOME_DIR,
    )
