"""The query sample library: preprocessed samples held in memory while LoadGen runs.

Samples are preprocessed (or found in the cache) before LoadGen starts, so a bad image fails the run before
any timing. LoadGen then asks for the samples of the timed run (`load`), and the SUT reads them from memory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from harness.benchmarks.base import Sample
from harness.cache import PreprocessedCache, load_entry


class SampleLibrary:
    """Cache entries of the dataset's samples and the subset LoadGen asked to have in memory."""

    def __init__(self, entries: Sequence[Path], performance_count: int) -> None:
        self.entries = list(entries)
        self.performance_count = min(performance_count, len(self.entries))
        self._loaded: dict[int, np.ndarray] = {}

    @property
    def total_count(self) -> int:
        return len(self.entries)

    def load(self, indices: Sequence[int]) -> None:
        """LoadGen's LoadSamplesToRam: read the preprocessed samples into memory."""
        for index in indices:
            if index not in self._loaded:
                self._loaded[index] = load_entry(self.entries[index])

    def unload(self, indices: Sequence[int]) -> None:
        """LoadGen's UnloadSamplesFromRam."""
        for index in indices:
            self._loaded.pop(index, None)

    def batch(self, indices: Sequence[int], out: np.ndarray | None = None) -> np.ndarray:
        """The in-memory samples stacked on a new first axis, into the first rows of `out` if given and of their
        shape: samples whose size varies (YOLO's minimal padding, one per batch) get an array of their own."""
        samples = [self._loaded[index] for index in indices]
        if out is None or out.shape[1:] != samples[0].shape:
            return np.stack(samples)
        return np.stack(samples, out=out[: len(samples)])

    def batch_buffer(self, size: int) -> np.ndarray:
        """An empty array for `size` samples, shaped and typed like the loaded ones."""
        example = next(iter(self._loaded.values()))
        return np.empty((size, *example.shape), dtype=example.dtype)


def prepare_samples(
    samples: Sequence[Sample],
    preprocess: Callable[[Sample], np.ndarray],
    cache: PreprocessedCache,
    workers: int,
) -> tuple[list[Path], int]:
    """Cache entries for `samples`, preprocessing those not cached; returns (entries, how many were made).

    Image decoding and resizing release the GIL, so threads use all cores.
    """

    def ensure(sample: Sample) -> tuple[Path, bool]:
        entry = cache.entry(sample.path)
        if entry.exists():
            return entry, False
        cache.store(entry, preprocess(sample))
        return entry, True

    pool = ThreadPoolExecutor(max_workers=max(1, workers))
    try:
        results = list(pool.map(ensure, samples))
    except BaseException:
        # A bad image or an interrupt: do not decode the rest of the dataset before failing.
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return [entry for entry, _ in results], sum(made for _, made in results)
