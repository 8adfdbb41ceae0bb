"""Host paths the tool derives from names: each is checked to lie inside its root before anything is written or
deleted there, so no name (validated at load or not) can lead outside the experiment."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from msb.errors import SpecError


def inside(root: Path, path: Path, what: str) -> Path:
    """`path`, made absolute, if it lies in `root` (symbolic links resolved); else a SpecError naming both."""
    base = Path(os.path.realpath(root))
    target = Path(os.path.realpath(path))
    if target != base and base not in target.parents:
        raise SpecError(
            f"{what} {path} lies outside {root}",
            "check the names in the system description (name, submitter, benchmarks): each is one folder name",
        )
    return Path(os.path.abspath(path))


def remove_tree(path: Path) -> None:
    """A folder and what it holds (links removed, never followed)."""
    if not path.exists():
        return
    for child in sorted(path.rglob("*"), reverse=True):
        child.rmdir() if child.is_dir() and not child.is_symlink() else child.unlink()
    path.rmdir()


def atomic_write(path: Path, text: str, mode: int = 0o664) -> None:
    """Write through a private temporary file and rename: a reader (or a crash) never sees half a file. Group-writable
    by default, as everything in the experiment is shared through its group."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@contextmanager
def staged(final: Path) -> Iterator[Path]:
    """A temporary folder beside `final`, renamed to it when the block completes and removed when it does not."""
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=final.parent))
    try:
        yield staging
        os.chmod(staging, 0o755)  # mkdtemp's 0700 would hide the report from the people it is for
        os.rename(staging, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
