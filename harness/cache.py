"""Preprocessed samples on disk, so a second run does not decode the images again.

One `.npy` per sample, named by the SHA-256 of the source file's bytes under a namespace of the benchmark and
its preprocessing version: an edited image or changed preprocessing never hits an old entry. Entries are
written to a temporary name and renamed, so an interrupted run never leaves a truncated entry.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

import numpy as np


class PreprocessedCache:
    """The cache folder of one benchmark and preprocessing version."""

    def __init__(self, root: Path, namespace: str) -> None:
        self.directory = root / namespace

    def entry(self, source: Path) -> Path:
        """Where the preprocessed form of `source` lives (whether or not it exists yet)."""
        digest = hashlib.sha256(source.read_bytes()).hexdigest()
        return self.directory / digest[:2] / f"{digest}.npy"

    def store(self, entry: Path, array: np.ndarray) -> None:
        entry.parent.mkdir(parents=True, exist_ok=True)
        partial = entry.with_name(f".{entry.stem}.{secrets.token_hex(4)}.npy")
        np.save(partial, array, allow_pickle=False)
        os.replace(partial, entry)


def load_entry(entry: Path) -> np.ndarray:
    return np.load(entry, allow_pickle=False)
