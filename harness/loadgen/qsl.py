"""The query sample library: preprocessed samples held in memory while LoadGen runs.

Samples are preprocessed (or found in the cache) before LoadGen starts, so a bad image fails the run before
any timing. LoadGen then asks for the samples of the timed run (`load`): they are copied once into one
contiguous store, and a batch is gathered from it by index (`np.take` into a reused buffer; a batch of one
is a view, no copy), never stacked from a list per query.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

import numpy as np

from harness.benchmarks.base import Sample
from harness.cache import PreprocessedCache, load_entry


class QuerySampleLibrary(Protocol):
    """What LoadGen's QSL needs: counts and the load/unload callbacks (host or device resident)."""

    @property
    def total_count(self) -> int: ...

    @property
    def performance_count(self) -> int: ...

    def load(self, indices: Sequence[int]) -> None: ...

    def unload(self, indices: Sequence[int]) -> None: ...


class SlotMap:
    """Where each loaded sample sits in a store of `capacity` rows: QSL index -> slot, freed slots reused."""

    def __init__(self, total: int) -> None:
        self._slot_of = np.full(total, -1, dtype=np.int64)
        self._free: list[int] = []
        self.capacity = 0

    def assign(self, indices: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Slots for the `indices` not loaded yet: (those indices, their slots); capacity grows as needed."""
        wanted = np.unique(np.asarray(indices, dtype=np.int64))
        new = wanted[self._slot_of[wanted] < 0]
        slots = np.empty(len(new), dtype=np.int64)
        for position in range(len(new)):
            if self._free:
                slots[position] = self._free.pop()
            else:
                slots[position] = self.capacity
                self.capacity += 1
        self._slot_of[new] = slots
        return new, slots

    def release(self, indices: Sequence[int]) -> None:
        held = np.asarray(indices, dtype=np.int64)
        slots = self._slot_of[held]
        self._free.extend(int(slot) for slot in slots if slot >= 0)
        self._slot_of[held] = -1

    def slots(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        """The slots of `indices` (all loaded), in order."""
        slots = self._slot_of[np.asarray(indices, dtype=np.int64)]
        if len(slots) and slots.min() < 0:
            missing = np.asarray(indices)[slots < 0][:5].tolist()
            raise KeyError(f"samples {missing} were not loaded by LoadGen before being queried")
        return slots


class SlottedLibrary:
    """What every QSL over cache entries shares: the entries, LoadGen's counts, and the slot of each loaded sample."""

    def __init__(self, entries: Sequence[Path], performance_count: int) -> None:
        self.entries = list(entries)
        self.performance_count = min(performance_count, len(self.entries))
        self._map = SlotMap(len(self.entries))

    @property
    def total_count(self) -> int:
        return len(self.entries)

    def _read_new(self, indices: Sequence[int]) -> tuple[np.ndarray, list[np.ndarray]]:
        """The samples of `indices` not loaded yet, read from their cache entries, and the slots given to them."""
        new, slots = self._map.assign(indices)
        return slots, [load_entry(self.entries[int(index)]) for index in new]

    def unload(self, indices: Sequence[int]) -> None:
        """LoadGen's UnloadSamplesFromRam: the slots are reused by the next load."""
        self._map.release(indices)


class SampleLibrary(SlottedLibrary):
    """Cache entries of the dataset's samples; those LoadGen asked for live in one contiguous host array."""

    def __init__(self, entries: Sequence[Path], performance_count: int) -> None:
        super().__init__(entries, performance_count)
        self._store: np.ndarray | None = None
        # Samples of differing shapes (YOLO's minimal padding) cannot share one array: kept by slot instead.
        self._ragged: dict[int, np.ndarray] | None = None

    def load(self, indices: Sequence[int]) -> None:
        """LoadGen's LoadSamplesToRam: read the preprocessed samples into the store (the one copy per sample)."""
        slots, arrays = self._read_new(indices)
        if not arrays:
            return
        shape = arrays[0].shape if self._store is None else self._store.shape[1:]
        if self._ragged is None and any(array.shape != shape for array in arrays):
            self._ragged = {} if self._store is None else dict(enumerate(self._store[: self._map.capacity]))
            self._store = None
        if self._ragged is not None:
            self._ragged.update(zip((int(slot) for slot in slots), arrays, strict=True))
            return
        self._store = _grown(self._store, self._map.capacity, arrays[0])
        for slot, array in zip(slots, arrays, strict=True):
            self._store[slot] = array

    def batch(self, indices: Sequence[int], out: np.ndarray | None = None) -> np.ndarray:
        """The loaded samples on a new first axis: gathered into the first rows of `out` if given; for one sample
        without `out`, a view of the store."""
        slots = self._map.slots(indices)
        if self._ragged is not None:
            # Each sample has its own shape: a batch of one is the sample itself; `out` (shaped for the first
            # loaded sample) only takes rows of its shape.
            rows = [self._ragged[int(slot)] for slot in slots]
            if len(rows) == 1 and (out is None or out.shape[1:] != rows[0].shape):
                return rows[0][None]
            return np.stack(rows, out=out[: len(rows)] if out is not None and out.shape[1:] == rows[0].shape else None)
        assert self._store is not None, "LoadGen queried before loading any sample"
        if out is None:
            if len(slots) == 1:
                return self._store[slots[0] : slots[0] + 1]
            return self._store[slots]
        return np.take(self._store, slots, axis=0, out=out[: len(slots)])

    def batch_buffer(self, size: int) -> np.ndarray:
        """An empty array for `size` samples, shaped and typed like the loaded ones."""
        example = self._store[0] if self._store is not None else next(iter((self._ragged or {}).values()))
        return np.empty((size, *example.shape), dtype=example.dtype)


def _grown(store: np.ndarray | None, capacity: int, example: np.ndarray) -> np.ndarray:
    """`store` with room for `capacity` samples like `example` (doubling, so repeated loads copy little)."""
    if store is not None and store.shape[0] >= capacity:
        return store
    rows = max(capacity, 2 * store.shape[0]) if store is not None else capacity
    grown = np.empty((rows, *example.shape), dtype=example.dtype)
    if store is not None:
        grown[: store.shape[0]] = store
    return grown


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
