"""Exact file lists: a result directory holds the required files, optional ones, and nothing else."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from msb.submission.findings import Finding, error


def file_list_findings(
    directory: Path, required: Iterable[str], optional: Iterable[str] = (), ignored: Iterable[str] = ()
) -> list[Finding]:
    """Missing required files and unexpected extra ones, one finding each (as the official files_diff)."""
    if not directory.is_dir():
        return [error(directory, "directory is missing", f"create it with {', '.join(required)}")]
    present = {p.name for p in directory.iterdir() if p.is_file()}
    required = set(required)
    allowed = required | set(optional) | set(ignored)
    findings = [
        error(directory / name, "required file is missing", "rerun the step that writes it, or copy it in")
        for name in sorted(required - present)
    ]
    findings += [
        error(
            directory / name,
            "file is not expected here",
            f"remove it; this directory holds {sorted(allowed)}",
        )
        for name in sorted(present - allowed)
    ]
    return findings
