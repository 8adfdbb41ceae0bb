"""Images as files, for hosts that cannot build or pull them (a cluster's nodes): export on the submit host, ensure on
the node before any run.

`export_image` writes `DIR/sha256-<content hex>.docker.tar` (`docker save` of the tagged image) and its record
`DIR/sha256-<content hex>.json` (tags, image ID, content digest, the archive's own sha256 and size). The name is the
content digest, so one archive serves every node and an export of an unchanged image finds it already there.

`ensure_image` is the node's check: the image it will run carries the expected content digest, or it is loaded from
that archive (verified against its record, then its label checked again), or an MsbError says which node, which
image and which digests. It never lets another image run in its place.
"""

from __future__ import annotations

import json
import os
import re
import socket
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from msb.engine import Engine
from msb.errors import MsbError
from msb.hashing import file_sha256
from msb.labels import LABEL_CONTENT
from msb.paths import atomic_write

ARCHIVE_SUFFIX = ".docker.tar"
RECORD_SUFFIX = ".json"
_HEX = re.compile(r"[0-9a-f]{64}")
_EXPORT_FIX = "on the submit host run `build.py image NAME --export DIR` and copy DIR's files to the node"


@dataclass(frozen=True)
class ArchiveRecord:
    """What `DIR/sha256-<hex>.json` says of its archive."""

    tags: list[str]  # the tags the archive carries (docker load restores them)
    image_id: str
    content_sha256: str  # "sha256:<hex>", the image's content label
    archive: str  # the archive's file name, beside the record
    archive_sha256: str  # hex
    archive_bytes: int


def content_hex(digest: str) -> str:
    """`sha256:<hex>` or `<hex>` as the bare hex; anything else is an MsbError."""
    value = digest.removeprefix("sha256:")
    if not _HEX.fullmatch(value):
        raise MsbError(
            f"{digest!r} is not a content digest", "give sha256:<64 hex digits>, as the image's content label states"
        )
    return value


def archive_path(directory: Path, content_sha256: str) -> Path:
    return directory / f"sha256-{content_hex(content_sha256)}{ARCHIVE_SUFFIX}"


def record_path(archive: Path) -> Path:
    return archive.with_name(archive.name.removesuffix(ARCHIVE_SUFFIX) + RECORD_SUFFIX)


def export_image(engine: Engine, image_ref: str, dest_dir: Path) -> Path:
    """`docker save` the image into `dest_dir`, named by its content digest, with its record; the archive's path.

    An archive already there under that name (with its record) is kept: the same name is the same filesystem, and
    nodes may be reading it."""
    digest = content_label(engine, image_ref)
    archive = archive_path(dest_dir, digest)
    if archive.exists() and record_path(archive).exists():
        check_archive(archive, read_record(archive))
        return archive
    image = engine.inspect(image_ref)
    dest_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{archive.name}.", dir=dest_dir)
    os.close(fd)
    try:
        engine.save_image(image_ref, Path(tmp))
        os.chmod(tmp, 0o644)
        os.replace(tmp, archive)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    record = ArchiveRecord(
        tags=[image_ref] if image_ref in (image.get("RepoTags") or []) else [],  # saved by ID: no tag
        image_id=str(image["Id"]),
        content_sha256=digest,
        archive=archive.name,
        archive_sha256=file_sha256(archive),
        archive_bytes=archive.stat().st_size,
    )
    atomic_write(record_path(archive), json.dumps(asdict(record), indent=2) + "\n", mode=0o644)
    return archive


def ensure_image(engine: Engine, image_ref: str, content_sha256: str | None, archive_dir: Path | None) -> str:
    """The ID of the image this node may run: `image_ref` when it carries `content_sha256` (any, when None), else the
    image loaded from `archive_dir`'s archive of that digest after both checks; otherwise an MsbError."""
    node = socket.gethostname()
    present = engine.image_id(image_ref)
    found = engine.image_labels(image_ref).get(LABEL_CONTENT, "no content label") if present else "no such image"
    if present is not None and (content_sha256 is None or found == f"sha256:{content_hex(content_sha256)}"):
        return present
    if content_sha256 is None:
        raise MsbError(
            f"node {node}: image {image_ref} is not here, and no content digest says which archive to load",
            f"pass the image's content digest, or {_EXPORT_FIX}",
        )
    expected = f"sha256:{content_hex(content_sha256)}"
    where = f"node {node}: image {image_ref} should have content {expected}, found {found}"
    archive = archive_path(archive_dir, expected) if archive_dir is not None else None
    if archive is None or not archive.is_file():
        missing = f"no archive at {archive}" if archive is not None else "no archive folder was given"
        raise MsbError(f"{where}; {missing}", f"{_EXPORT_FIX}, or rebuild the image on this node")
    record = read_record(archive)
    if record.content_sha256 != expected:
        raise MsbError(
            f"{where}; the record beside {archive} names content {record.content_sha256}",
            f"remove {archive.parent}/sha256-{content_hex(expected)}.* and {_EXPORT_FIX}",
        )
    check_archive(archive, record)
    return loaded_image(engine, image_ref, archive, expected, node)


def loaded_image(engine: Engine, image_ref: str, archive: Path, expected: str, node: str) -> str:
    """Load the archive; the ID of the loaded image that carries `expected` (asked again of the engine, not the
    record)."""
    refs = engine.load_image(archive)
    candidates = list(dict.fromkeys([image_ref, *refs] if image_ref in refs else refs))  # image_ref first, once
    seen: list[str] = []
    for ref in candidates:
        image_id = engine.image_id(ref)
        label = engine.image_labels(ref).get(LABEL_CONTENT, "no content label") if image_id else "nothing"
        if image_id is not None and label == expected:
            return image_id
        seen.append(f"{ref}: {label}")
    raise MsbError(
        f"node {node}: {archive} loaded {', '.join(seen) or 'no image'}, not image {image_ref} with content {expected}",
        f"{_EXPORT_FIX} (the archive does not hold the image its name says)",
    )


def content_label(engine: Engine, image_ref: str) -> str:
    labels = engine.image_labels(image_ref)
    if LABEL_CONTENT not in labels:
        raise MsbError(
            f"image {image_ref} has no content label ({LABEL_CONTENT})",
            "build it with `build.py image NAME`, which labels the image with its content digest",
        )
    return f"sha256:{content_hex(labels[LABEL_CONTENT])}"


def read_record(archive: Path) -> ArchiveRecord:
    path = record_path(archive)
    fix = f"remove {archive} and {path}, then {_EXPORT_FIX}"
    try:
        data = json.loads(path.read_text())
        return ArchiveRecord(**data)
    except FileNotFoundError:
        raise MsbError(f"archive {archive} has no record {path}: its sha256 cannot be checked", fix) from None
    except (json.JSONDecodeError, TypeError) as exc:
        raise MsbError(f"the record {path} cannot be read ({exc})", fix) from None


def check_archive(archive: Path, record: ArchiveRecord) -> None:
    """The archive is the one its record describes: same size, same sha256 (altered or cut short in transfer)."""
    size = archive.stat().st_size
    digest = file_sha256(archive) if size == record.archive_bytes else "not computed"
    if size != record.archive_bytes or digest != record.archive_sha256:
        raise MsbError(
            f"archive {archive} is {size} bytes with sha256 {digest}; its record {record_path(archive).name} says"
            f" {record.archive_bytes} bytes with sha256 {record.archive_sha256}: it was altered or cut short",
            f"copy it again from the submit host, or remove it and its record and {_EXPORT_FIX}",
        )
