"""Preprocessed samples on disk, so a second run does not decode the images again.

One `.npy` per sample, named by the SHA-256 of the source file's bytes under a namespace of the benchmark and
its preprocessing version: an edited image or changed preprocessing never hits an old entry. Entries are
written to a temporary name and renamed, so an interrupted run never leaves a truncated entry.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import secrets
from pathlib import Path

import numpy as np

from harness.benchmarks.base import Benchmark, DatasetError, VersionedBenchmark


class CacheError(RuntimeError):
    """The cache folder cannot be written; the message names it and the fix."""


class PreprocessedCache:
    """The cache folder of one benchmark and preprocessing version."""

    def __init__(self, root: Path, namespace: str) -> None:
        self.directory = root / namespace

    def entry(self, source: Path) -> Path:
        """Where the preprocessed form of `source` lives (whether or not it exists yet)."""
        try:
            digest = hashlib.sha256(source.read_bytes()).hexdigest()
        except OSError as error:
            raise DatasetError(f"cannot read {source} ({error.strerror}); check its permissions") from error
        return self.directory / digest[:2] / f"{digest}.npy"

    def store(self, entry: Path, array: np.ndarray) -> None:
        partial = entry.with_name(f".{entry.stem}.{secrets.token_hex(4)}.npy")
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            np.save(partial, array, allow_pickle=False)
            os.replace(partial, entry)
        except OSError as error:
            raise CacheError(
                f"cannot write the preprocessed-sample cache {self.directory} ({error.strerror}); "
                "pass --cache-dir DIR that this user can write"
            ) from error


def load_entry(entry: Path) -> np.ndarray:
    return np.load(entry, allow_pickle=False)


def cache_namespace(benchmark: Benchmark) -> str:
    """The benchmark and its preprocessing version; without a declared version, a hash of its source."""
    version = benchmark.preprocessing_version if isinstance(benchmark, VersionedBenchmark) else None
    if version is None:
        source = inspect.getsourcefile(type(benchmark))
        digest = hashlib.sha256(Path(source).read_bytes()).hexdigest()[:12] if source else "unversioned"
        version = f"source-{digest}"
    return f"{benchmark.name}-{version}"
