"""Provenance recorded in image labels: git revision and commit time, and hashes of every input of the render.

`created` is the commit time, not the build time, so two builds of one commit carry identical labels.
"""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

import tomllib

from msb.descriptions.image import ImageSpec
from msb.hashing import file_sha256
from msb.project import Project

SOURCE_URL = "https://github.com/mlperf-submission-builder/mlperf-submission-builder"


@dataclass(frozen=True)
class Provenance:
    revision: str
    created: str
    version: str
    template_sha256: str
    definition_sha256: str
    lock_sha256: str
    source: str = SOURCE_URL


def tree_sha256(directory: Path) -> str:
    """Hash of a folder's files: relative paths and contents, in sorted order, so it is stable across machines."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def file_sha256_or_none(path: Path) -> str:
    return file_sha256(path) if path.is_file() else "none"


def git_revision(root: Path) -> tuple[str, str]:
    """(SHA, commit time in ISO 8601); SHA gets '-dirty' when tracked files differ from the commit."""

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True).stdout

    try:
        sha = git("rev-parse", "HEAD").strip()
        created = git("log", "-1", "--format=%cI", "HEAD").strip()
        dirty = bool(git("status", "--porcelain", "--untracked-files=no").strip())
    except (subprocess.CalledProcessError, FileNotFoundError):
        return "unknown", "1970-01-01T00:00:00+00:00"
    return (f"{sha}-dirty" if dirty else sha), created


def project_version(root: Path) -> str:
    with (root / "pyproject.toml").open("rb") as handle:
        return str(tomllib.load(handle)["project"]["version"])


def collect(project: Project, spec: ImageSpec) -> Provenance:
    assert spec.source is not None
    revision, created = git_revision(project.root)
    return Provenance(
        revision=revision,
        created=created,
        version=project_version(project.root),
        template_sha256=tree_sha256(project.templates),
        definition_sha256=file_sha256_or_none(spec.source),
        lock_sha256=file_sha256_or_none(spec.lock_path),
    )
