"""A reproducible tarball of a checked submission tree, with its sha256 written next to it.

Same tree, same bytes: entries sorted, mtimes, owners and modes fixed, gzip header without name or time. The
archive holds the division directories (closed/, open/, network/) as the official pack script does.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from msb.descriptions.rounds import RoundProfile
from msb.errors import EXIT_FAILED_CHECK, MsbError
from msb.submission.check import check_tree
from msb.submission.findings import Severity, format_report, has_errors

# 2000-01-01T00:00:00Z: any fixed instant will do; zero confuses some extractors that warn on 1970 dates.
FIXED_MTIME = 946684800


class PackError(MsbError):
    """The tree cannot be packed (no such tree, an output inside the tree or on a directory, a write failed)."""


class PackRefused(PackError):
    """The checker found errors in the tree: a failed check (exit 1) rather than bad input."""

    exit_status = EXIT_FAILED_CHECK


@dataclass(frozen=True)
class Packed:
    tarball: Path
    sha256: str
    sha256_file: Path
    entries: int


def default_tarball(root: Path) -> Path:
    submitters = sorted({p.name for division in _divisions(root) for p in division.iterdir() if p.is_dir()})
    return root.resolve().parent / f"mlperf_submission_{'_'.join(submitters) or 'empty'}.tar.gz"


def pack(root: Path, tarball: Path, profile: RoundProfile, force: bool = False) -> Packed:
    """Check the tree, then write `tarball` and `tarball.sha256`; refuses on checker errors unless `force`."""
    root = root.resolve()
    tarball = tarball.resolve()
    sha_file = tarball.with_name(tarball.name + ".sha256")
    check_root(root)
    if root == tarball or root in tarball.parents:
        raise PackError(f"output {tarball} is inside the tree {root}", "write the tarball outside the tree")
    for path in (tarball, sha_file):
        if path.is_dir():
            raise PackError(f"output {path} is a directory", "give --out the path of a file (a .tar.gz) to write")
    findings = check_tree(root, profile)
    if has_errors(findings) and not force:
        errors = [f for f in findings if f.severity is Severity.ERROR]
        raise PackRefused(
            f"{root} has {len(errors)} checker error(s); not packing\n{format_report(errors, root)}",
            "fix the errors (or pass --force to pack anyway, for a dry run only)",
        )
    data, entries = tar_bytes(root)
    try:
        tarball.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PackError(
            f"cannot create {tarball.parent}: {exc.strerror or exc}", "give --out a writable folder"
        ) from None
    _atomic_write(tarball, data)
    digest = hashlib.sha256(data).hexdigest()
    # sha256sum's format, so `sha256sum -c` verifies it.
    _atomic_write(sha_file, f"{digest}  {tarball.name}\n".encode())
    return Packed(tarball, digest, sha_file, entries)


def check_root(root: Path) -> None:
    """The tree must exist, even with --force: there is nothing to pack otherwise."""
    if not root.is_dir():
        what = "is not a directory" if root.exists() else "does not exist"
        raise PackError(f"submission directory {root} {what}", "give the directory that holds closed/")


def tar_bytes(root: Path) -> tuple[bytes, int]:
    """The gzipped tar of the division directories under `root`, and its entry count: pure in the tree."""
    raw = io.BytesIO()
    count = 0
    # GNU format writes no pax headers, which would carry extra (varying) attributes.
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for path in _entries(root):
            info = tar.gettarinfo(str(path), arcname=path.relative_to(root).as_posix())
            info.mtime = FIXED_MTIME
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mode = 0o755 if info.isdir() or (info.mode & 0o100) else 0o644
            if info.isfile():
                with path.open("rb") as f:
                    tar.addfile(info, f)
            else:
                tar.addfile(info)
            count += 1
    zipped = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=zipped, compresslevel=9, mtime=0) as gz:
        gz.write(raw.getvalue())
    return zipped.getvalue(), count


def _divisions(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name in ("closed", "open", "network"))


def _entries(root: Path) -> Iterator[Path]:
    for division in _divisions(root):
        yield division
        for dirpath, dirnames, filenames in os.walk(division):
            dirnames.sort()
            here = Path(dirpath)
            for name in sorted(dirnames + filenames):
                yield here / name


def _atomic_write(path: Path, data: bytes) -> None:
    """Write through a temporary file beside `path`, removed on any failure so none is left behind."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:
        raise PackError(f"cannot write {path}: {exc.strerror or exc}", "give --out a writable file path") from None
    finally:
        tmp.unlink(missing_ok=True)
