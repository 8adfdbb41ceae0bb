"""Samples resident on the devices: the library LoadGen loads into, and what a device worker offers.

A backend that keeps samples on its devices (the PyTorch backend on CUDA) hands out one `DeviceWorker` per
device it runs on (or several per device). LoadGen's LoadSamplesToRam copies each sample, in the benchmark's
compact form (harness/benchmarks/base.py: CompactForm), to every worker once; a query then names samples by
their slot in that store, and the worker gathers, expands and infers them on the device. No sample is stacked
or copied on the host per query.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from harness.benchmarks.base import CompactForm
from harness.loadgen.qsl import SlottedLibrary


class Launched(Protocol):
    """A batch in flight on a worker."""

    def result(self) -> list[np.ndarray]:
        """Wait for the batch; its outputs (first axis: the launched samples), copied off the device."""
        ...


class DeviceWorker(Protocol):
    """One model replica on one device with the samples stored there."""

    name: str

    def store(self, slots: np.ndarray, samples: np.ndarray) -> None:
        """Write `samples` (compact form, first axis matching `slots`) into the device store's `slots`."""
        ...

    def launch(self, slots: np.ndarray) -> Launched:
        """Start inference on the stored samples at `slots` (at most the batch size); blocks only while all
        the worker's streams are busy."""
        ...

    def device_bytes(self) -> int:
        """Device memory the sample store holds now."""
        ...


@runtime_checkable
class ResidentBackend(Protocol):
    """Optional: a backend that can keep samples on its devices; the run asks with isinstance."""

    def resident_workers(
        self, form: CompactForm | None, sample_shape: Sequence[int], batch_size: int
    ) -> Sequence[DeviceWorker] | None:
        """Warmed-up workers holding samples in `form` (None: float32 as preprocessed), or None where the backend,
        as configured, keeps them on the host."""
        ...


class ResidentLibrary(SlottedLibrary):
    """The QSL over compact cache entries, copying what LoadGen loads to every worker's store."""

    def __init__(self, entries: Sequence[Path], performance_count: int, workers: Sequence[DeviceWorker]) -> None:
        if not workers:
            raise ValueError("a resident library needs at least one device worker")
        super().__init__(entries, performance_count)
        self.workers = list(workers)

    def load(self, indices: Sequence[int]) -> None:
        """LoadGen's LoadSamplesToRam: one host read and one copy to each device per sample."""
        slots, arrays = self._read_new(indices)
        if not arrays:
            return
        samples = np.stack(arrays)
        for worker in self.workers:
            worker.store(slots, samples)

    def slots(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        return self._map.slots(indices)
