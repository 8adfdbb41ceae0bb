"""Rules for the tree as files: what GitHub upload and the official checker reject regardless of content."""

from __future__ import annotations

import os
from pathlib import Path

from msb.submission.findings import Finding, error


def hygiene_findings(root: Path, max_file_bytes: int) -> list[Finding]:
    """Dotfiles, spaces in names, symbolic links, __pycache__, empty directories and oversized files."""
    findings: list[Finding] = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        for name in sorted(dirnames + filenames):
            path = here / name
            if name.startswith("."):
                findings.append(error(path, "hidden (dot) file or directory", "remove it; uploads reject dotfiles"))
            if " " in name:
                findings.append(error(path, "name contains a space", "rename it without spaces"))
            if path.is_symlink():
                findings.append(error(path, "symbolic link", "replace it with a copy of the file it points to"))
            elif name == "__pycache__":
                findings.append(error(path, "__pycache__ directory", "remove it"))
            elif path.is_file() and path.stat().st_size > max_file_bytes:
                mib = path.stat().st_size / (1 << 20)
                findings.append(
                    error(path, f"file is {mib:.1f} MiB, over the {max_file_bytes >> 20} MiB limit", "shrink it")
                )
        if here != root and not dirnames and not filenames:
            findings.append(error(here, "empty directory", "remove it, or rerun the step that fills it"))
        # Never follow links into other trees.
        dirnames[:] = [d for d in dirnames if not (here / d).is_symlink()]
    return findings
