"""Accuracy-log truncation, as MLPerf requires before upload.

The submitted mlperf_log_accuracy.json keeps its first and last 4096 characters joined by `\\n\\n...\\n\\n`;
accuracy.txt gets a `hash=<sha256 of the full log>` line, and the full log goes to a backup directory outside
the submission tree (reviewers may ask for it). This is what the official truncate_accuracy_log.py writes and
what the official checker accepts: a hash line in accuracy.txt and a log of at most 10 KiB.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from harness.contract.layout import accuracy_dir_patterns
from msb.errors import MsbError
from msb.hashing import file_sha256
from msb.paths import atomic_write

VIEWABLE_CHARS = 4096
ELLIPSIS = "\n\n...\n\n"
ACCURACY_LOG = "mlperf_log_accuracy.json"
ACCURACY_TXT = "accuracy.txt"
# The most a log truncated here can hold (ASCII JSON): what tells our own truncation from a full log. The round's
# limit on submitted logs (the checker's MAX_ACCURACY_LOG_SIZE) is round data: RoundProfile.max_accuracy_log_bytes.
TRUNCATED_MAX_BYTES = 2 * VIEWABLE_CHARS + len(ELLIPSIS)
_HASH_LINE = re.compile(r"^hash=([0-9a-f]{64})$", re.MULTILINE)


class TruncationError(MsbError):
    """An accuracy directory cannot be truncated as asked; the message names it and the fix."""


class AlreadyTruncated(TruncationError):
    """accuracy.txt already records the hash and the log is already short."""


@dataclass(frozen=True)
class Truncated:
    accuracy_dir: Path
    sha256: str
    backup: Path


def recorded_hash(accuracy_txt: Path) -> str | None:
    """The `hash=` value accuracy.txt records, or None."""
    if not accuracy_txt.is_file():
        return None
    match = _HASH_LINE.search(accuracy_txt.read_text(encoding="utf-8"))
    return match.group(1) if match else None


def truncate_accuracy_dir(accuracy_dir: Path, backup_file: Path) -> Truncated:
    """Truncate one accuracy directory's log, recording its hash and keeping the full log at `backup_file`.

    Order matters for a crash half-way: backup first, then the hash, then the log. A rerun after a crash
    between the last two finds the hash equal to the (still full) log's and finishes; all else is refused.
    """
    log = accuracy_dir / ACCURACY_LOG
    txt = accuracy_dir / ACCURACY_TXT
    if not log.is_file():
        raise TruncationError(
            f"{log} does not exist", "run the accuracy pass first; it writes mlperf_log_accuracy.json"
        )
    recorded = recorded_hash(txt)
    size = log.stat().st_size
    if recorded and size <= TRUNCATED_MAX_BYTES:
        raise AlreadyTruncated(
            f"{log} is already truncated ({txt} records hash={recorded[:12]}...)",
            f"nothing to do; the full log should be in the backup ({backup_file})",
        )
    if not recorded and _looks_truncated(log):
        raise TruncationError(
            f"{log} looks truncated but {txt} records no hash",
            f"restore the full log from its backup ({backup_file}) and truncate again",
        )
    full_hash = file_sha256(log)
    if recorded and recorded != full_hash:
        raise TruncationError(
            f"{txt} records hash={recorded} but {log} hashes to {full_hash}",
            "the log changed after truncation started: rerun the accuracy pass or restore the matching log",
        )
    _backup(log, backup_file, full_hash)
    if not recorded:
        _append_hash(txt, full_hash)
    atomic_write(log, _truncated_text(log))
    return Truncated(accuracy_dir, full_hash, backup_file)


def accuracy_dirs(root: Path) -> Iterator[Path]:
    """Every directory of a tree whose accuracy log gets truncated: results and TEST01 compliance runs, in the
    tree's layout, whichever round it is of."""
    for division in sorted(p for p in root.iterdir() if p.is_dir()):
        for submitter in sorted(p for p in division.iterdir() if p.is_dir()):
            for pattern in accuracy_dir_patterns():
                yield from sorted(submitter.glob(pattern))


def truncate_tree(root: Path, backup_root: Path) -> list[Truncated]:
    """Truncate every accuracy log under `root`; skips those already truncated, so a rerun is harmless."""
    root, backup_root = root.resolve(), backup_root.resolve()
    if backup_root == root or root in backup_root.parents:
        raise TruncationError(
            f"backup directory {backup_root} is inside the submission tree {root}",
            "give a backup directory outside the tree: full logs must not be uploaded",
        )
    done = []
    for accuracy_dir in accuracy_dirs(root):
        backup_file = backup_root / accuracy_dir.relative_to(root) / ACCURACY_LOG
        try:
            done.append(truncate_accuracy_dir(accuracy_dir, backup_file))
        except AlreadyTruncated:
            continue
    return done


def _truncated_text(log: Path) -> str:
    # LoadGen writes the log in ASCII (hex payloads), so characters and bytes coincide; a log shorter than the
    # viewable part stays as it is, as in the official tool.
    size = log.stat().st_size
    with log.open("r", encoding="ascii") as f:
        if size < VIEWABLE_CHARS:
            return f.read()
        head = f.read(VIEWABLE_CHARS)
        f.seek(size - VIEWABLE_CHARS)
        tail = f.read(VIEWABLE_CHARS)
    return head + ELLIPSIS + tail


def _looks_truncated(log: Path) -> bool:
    if log.stat().st_size != 2 * VIEWABLE_CHARS + len(ELLIPSIS):
        return False
    with log.open("rb") as f:
        f.seek(VIEWABLE_CHARS)
        return f.read(len(ELLIPSIS)) == ELLIPSIS.encode()


def _backup(log: Path, backup_file: Path, full_hash: str) -> None:
    if backup_file.exists():
        if file_sha256(backup_file) == full_hash:
            return
        raise TruncationError(
            f"backup {backup_file} exists and differs from {log}",
            "move the old backup away, or give another backup directory",
        )
    backup_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_path(backup_file)
    try:
        shutil.copyfile(log, tmp)
        os.replace(tmp, backup_file)
    finally:
        tmp.unlink(missing_ok=True)


def _append_hash(txt: Path, full_hash: str) -> None:
    # TEST01 compliance directories have no accuracy.txt of their own; the hash line creates it.
    before = txt.read_text(encoding="utf-8") if txt.is_file() else ""
    atomic_write(txt, f"{before}\nhash={full_hash}\n")


def _temp_path(path: Path) -> Path:
    # Same directory as the target, so os.replace is a rename on one file system.
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    return Path(name)
