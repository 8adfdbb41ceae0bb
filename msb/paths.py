"""Host paths the tool derives from names: each is checked to lie inside its root before anything is written or
deleted there, so no name (validated at load or not) can lead outside the experiment."""

from __future__ import annotations

import os
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
