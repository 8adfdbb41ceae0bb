"""The content digest of an image's filesystem, from the tar stream of `docker export`. Pure: it reads bytes.

Two images with the same files, modes, owners, link targets and contents have one digest, whenever and wherever
they were built: times are left out on purpose (every build writes new ones), and entries are sorted by path (the
order of the stream is the engine's business). The per-path entries come back too, so two images can be diffed.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO

_KINDS = {
    tarfile.REGTYPE: "file",
    tarfile.AREGTYPE: "file",
    tarfile.CONTTYPE: "file",
    tarfile.DIRTYPE: "dir",
    tarfile.SYMTYPE: "symlink",
    tarfile.LNKTYPE: "hardlink",
    tarfile.CHRTYPE: "char",
    tarfile.BLKTYPE: "block",
    tarfile.FIFOTYPE: "fifo",
}
_XATTR = "SCHILY.xattr."  # how Go's archive/tar (the engine's) writes extended attributes into PAX headers
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Entry:
    """One path of the filesystem, as the digest sees it."""

    path: str  # relative, no leading "./" or "/", no trailing "/"
    kind: str
    mode: int  # permission bits, setuid/setgid/sticky included
    uid: int
    gid: int
    link: str = ""  # symlink target, or the path a hard link shares its data with
    sha256: str = ""  # file contents (a hard link: its target's); devices: "major,minor"
    xattrs: str = ""  # extended attributes (capabilities, ...), sorted

    def line(self) -> str:
        owner = f"{self.uid}:{self.gid}"
        fields = [self.path, self.kind, f"{self.mode:04o}", owner, self.link, self.sha256, self.xattrs]
        return "\t".join(fields)


@dataclass(frozen=True)
class Content:
    sha256: str
    entries: dict[str, Entry]  # by path


@dataclass(frozen=True)
class ContentDiff:
    added: list[str]
    removed: list[str]
    changed: list[str]

    @property
    def paths(self) -> int:
        return len(self.added) + len(self.removed) + len(self.changed)


def digest_entries(entries: Iterable[Entry]) -> Content:
    by_path = {entry.path: entry for entry in entries}
    digest = hashlib.sha256()
    for path in sorted(by_path):
        digest.update(by_path[path].line().encode("utf-8", "surrogateescape") + b"\n")
    return Content(digest.hexdigest(), by_path)


def digest_tar(stream: IO[bytes]) -> Content:
    """The digest of a tar stream, read once front to back (mode "r|": nothing is seeked or kept but hashes)."""
    entries: list[Entry] = []
    hashes: dict[str, str] = {}
    with tarfile.open(fileobj=stream, mode="r|") as archive:
        for member in archive:
            entry = _entry(archive, member, hashes)
            hashes[entry.path] = entry.sha256
            entries.append(entry)
    return digest_entries(entries)


def digest_chunks(chunks: Iterable[bytes]) -> Content:
    """The digest of a tar stream that arrives in chunks (docker-py's export)."""
    return digest_tar(io.BufferedReader(ChunkReader(iter(chunks)), _CHUNK))


def diff(before: Content, after: Content) -> ContentDiff:
    old, new = before.entries, after.entries
    return ContentDiff(
        added=sorted(set(new) - set(old)),
        removed=sorted(set(old) - set(new)),
        changed=sorted(path for path in set(old) & set(new) if old[path] != new[path]),
    )


def diff_lines(found: ContentDiff, limit: int = 50) -> list[str]:
    """At most `limit` lines, `+ path` added, `- path` removed, `~ path` changed, then how many were left out."""
    lines = [f"+ {p}" for p in found.added] + [f"- {p}" for p in found.removed] + [f"~ {p}" for p in found.changed]
    lines.sort(key=lambda line: line[2:])
    if len(lines) > limit:
        return [*lines[:limit], f"... and {len(lines) - limit} more"]
    return lines


def normalise_path(name: str) -> str:
    path = name.removeprefix("./").lstrip("/").rstrip("/")
    return path or "."


def _entry(archive: tarfile.TarFile, member: tarfile.TarInfo, hashes: dict[str, str]) -> Entry:
    kind = _KINDS.get(member.type, f"type-{member.type!r}")
    path = normalise_path(member.name)
    link, sha = "", ""
    if member.isreg():
        sha = _file_sha256(archive.extractfile(member))
    elif member.issym():
        link = member.linkname
    elif member.islnk():
        # A hard link's data is its target's; naming the target keeps which paths share data in the digest.
        link = normalise_path(member.linkname)
        sha = hashes.get(link, "")
    elif member.ischr() or member.isblk():
        sha = f"{member.devmajor},{member.devminor}"
    xattrs = ";".join(f"{k[len(_XATTR) :]}={v}" for k, v in sorted(member.pax_headers.items()) if k.startswith(_XATTR))
    return Entry(path, kind, member.mode & 0o7777, member.uid, member.gid, link, sha, xattrs)


def _file_sha256(handle: IO[bytes] | None) -> str:
    digest = hashlib.sha256()
    if handle is not None:
        while block := handle.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


class ChunkReader(io.RawIOBase):
    """A read-once file over an iterator of byte chunks, so tarfile can stream an HTTP body without a temporary
    file."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = memoryview(b"")  # a view, so handing out part of a 2 MB chunk copies nothing else

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]  # typeshed's Buffer, not in 3.11 typing
        while not self._pending:
            try:
                self._pending = memoryview(next(self._chunks))
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size
