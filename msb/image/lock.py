"""`build.py lock NAME`: resolve requirements into a hash lock, and the base tag into a digest where reachable;
plus fetching exactly the locked wheels for a build."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from msb.descriptions.image import ImageSpec
from msb.descriptions.lockfile import LockedWheel, read_lock, render_lock, wheel_from_file
from msb.descriptions.yamlfile import read_text
from msb.engine import Engine
from msb.errors import LockError, MsbError
from msb.hashing import file_sha256
from msb.image import pip
from msb.project import Project


def write_lock(spec: ImageSpec) -> list[LockedWheel]:
    """Resolve the definition's requirements for the image's interpreter and platform; write NAME.lock."""
    with tempfile.TemporaryDirectory(prefix="msb-lock-") as tmp:
        pip.download(spec.python, Path(tmp), list(spec.requirements))
        wheels = [wheel_from_file(path) for path in sorted(Path(tmp).glob("*.whl"))]
    spec.lock_path.write_text(render_lock(spec, wheels))
    return wheels


def resolve_base_digest(spec: ImageSpec, engine: Engine) -> str | None:
    """Pull the base by tag and record its registry digest in the definition. Bootstrapped bases have none to pull."""
    if spec.base.bootstrap is not None:
        return None
    digest = engine.pull_digest(spec.base.ref)
    assert spec.source is not None
    set_base_digest(spec.source, digest)
    return digest


def set_base_digest(definition: Path, digest: str) -> None:
    """Rewrite only the base's `digest:` line, so the definition keeps its comments and layout."""
    text = read_text(definition, "image definition")
    new, count = re.subn(r"(?m)^(  digest:).*$", rf"\1 {digest}", text, count=1)
    if count != 1:
        raise LockError(f"{definition} has no 'digest:' line under base", "add `digest: null` under base")
    definition.write_text(new)


def fetch_locked_wheels(project: Project, spec: ImageSpec) -> list[Path]:
    """Download (or reuse from the cache) exactly the locked wheels, verified by hash; return their paths."""
    wheels = read_lock(spec)
    cache = project.wheel_cache / spec.name
    wanted = {w.sha256: w for w in wheels}
    have = {file_sha256(path): path for path in cache.glob("*.whl")} if cache.is_dir() else {}
    if not set(wanted) <= set(have):
        try:
            pip.download(spec.python, cache, ["--no-deps", "--require-hashes", "-r", str(spec.lock_path)])
        except MsbError as exc:
            raise LockError(exc.message, exc.fix) from None
        have = {file_sha256(path): path for path in cache.glob("*.whl")}
    missing = sorted(f"{w.name}=={w.version}" for sha, w in wanted.items() if sha not in have)
    if missing:
        raise LockError(
            f"wheels for {', '.join(missing)} were not found with the locked hashes",
            f"regenerate the lock: python3 build.py lock {spec.name}",
        )
    return sorted(have[sha] for sha in wanted)
