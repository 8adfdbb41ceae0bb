"""The sha256 of a file, read in blocks (wheels and full accuracy logs can be large). The harness keeps its own copy:
it never imports the host package."""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
