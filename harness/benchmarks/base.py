"""The interface every benchmark implements.

A benchmark knows its dataset layout, how MLPerf preprocesses a sample, how raw model outputs become the bytes
LoadGen writes into mlperf_log_accuracy.json, and how to score that log the way the official script does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np


class DatasetError(ValueError):
    """The dataset is missing, empty or has a bad file; the message names the path and the fix."""


@dataclass(frozen=True)
class Sample:
    """One dataset item: its index in the (possibly truncated) dataset list and where it comes from."""

    index: int
    path: Path
    key: str  # the dataset's own name for it (file name relative to the dataset root)


@dataclass(frozen=True)
class AccuracyReport:
    """The official script's line (e.g. `accuracy=76.456%, good=38228, total=50000`) and the figure itself."""

    line: str
    value: float  # percent
    metric: str  # "top1" or "mAP"


@dataclass(frozen=True)
class CompactForm:
    """A benchmark's samples kept in a smaller type (ResNet50: the uint8 crop) and expanded where they are used.

    The model input is `(compact.astype(float32) - offset[c]) / divisor` with the channel c on axis 0 of a sample.
    A division, not a multiplication by 1/divisor: both the host (NumPy) and the device (PyTorch) side compute
    exactly this IEEE operation, so an input expanded on a GPU is bit-identical to the host's preprocessing.
    `version` names the compact form in the preprocessed cache (it changes when the compact values could).
    """

    dtype: str  # NumPy dtype name of the stored samples, e.g. "uint8"
    offset: tuple[float, ...]  # per channel
    divisor: float
    version: str


def expand(form: CompactForm, compact: np.ndarray, channel_axis: int = 0) -> np.ndarray:
    """The float32 model input of `compact` samples (channel on `channel_axis`), as the device computes it."""
    shape = [1] * compact.ndim
    shape[channel_axis] = len(form.offset)
    offset = np.asarray(form.offset, dtype=np.float32).reshape(shape)
    return (compact.astype(np.float32) - offset) / np.float32(form.divisor)


class Benchmark(Protocol):
    name: str  # MLPerf model name: "resnet50", "retinanet", "ssd-resnet34"
    input_shape: tuple[int, ...]  # one sample, e.g. (3, 224, 224)
    input_dtype: np.dtype
    output_names: tuple[str, ...]

    def list_samples(self, dataset_dir: Path, count: int | None) -> list[Sample]: ...

    def preprocess(self, sample: Sample) -> np.ndarray: ...

    def postprocess(self, outputs: list[np.ndarray], sample_indices: list[int]) -> list[bytes]:
        """One LoadGen response payload per sample of the batch, in batch order."""
        ...

    def accuracy(self, accuracy_log: Path, dataset_dir: Path, samples: list[Sample]) -> AccuracyReport: ...


# Optional capabilities: a benchmark has them or not, and the run asks with isinstance (runtime_checkable), so the
# attribute each one offers is typed where it is used instead of read with getattr.


@runtime_checkable
class CompactBenchmark(Protocol):
    """A benchmark whose samples also have a compact form (see CompactForm): `preprocess(s)` equals
    `expand(compact_form, compact(s))` exactly, so a backend that keeps samples on its device stores the compact
    arrays and expands them there."""

    compact_form: CompactForm

    def compact(self, sample: Sample) -> np.ndarray: ...


@runtime_checkable
class VaryingInputBenchmark(Protocol):
    """A benchmark whose samples may each have their own input shape (YOLO with minimal padding)."""

    # Why its samples do not stack into a batch, or None where (with its options) they do. When set, no one-shape
    # device store or graph holds them: the run refuses batch sizes above 1 and models of a fixed input size.
    varying_input: str | None


@runtime_checkable
class VersionedBenchmark(Protocol):
    """A benchmark that names its preprocessing (part of the cache key); the others are keyed by a hash of their
    source."""

    preprocessing_version: str


def compact_form_of(benchmark: Benchmark) -> CompactForm | None:
    """The benchmark's compact form, None for one that has none."""
    return benchmark.compact_form if isinstance(benchmark, CompactBenchmark) else None


def varying_input_of(benchmark: Benchmark) -> str | None:
    """Why the benchmark's samples do not stack into a batch, None where they do."""
    return benchmark.varying_input if isinstance(benchmark, VaryingInputBenchmark) else None
