"""Assembling a build context: exactly the files the Dockerfile copies, nothing else from the working tree."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def assemble(dest: Path, dockerfile: str, lock: Path, wheels: list[Path], harness: Path) -> Path:
    """Write Dockerfile, requirements.lock, wheels/ and harness/ into `dest` (an empty folder)."""
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "Dockerfile").write_text(dockerfile)
    shutil.copyfile(lock, dest / "requirements.lock")
    wheel_dir = dest / "wheels"
    wheel_dir.mkdir()
    for wheel in wheels:
        link_or_copy(wheel, wheel_dir / wheel.name)
    shutil.copytree(harness, dest / "harness", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    normalise_mtimes(dest)
    return dest


def link_or_copy(src: Path, dst: Path) -> None:
    """Hard-link cached wheels (no copy of 50 MB per build); copy across file systems."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def normalise_mtimes(root: Path) -> None:
    """The classic builder's cache keys COPY on content and metadata; fixed modes keep the cache across clones."""
    for path in root.rglob("*"):
        if path.is_file():
            path.chmod(0o644)
        elif path.is_dir():
            path.chmod(0o755)
