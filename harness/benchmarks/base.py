"""The interface every benchmark implements.

A benchmark knows its dataset layout, how MLPerf preprocesses a sample, how raw model outputs become the bytes
LoadGen writes into mlperf_log_accuracy.json, and how to score that log the way the official script does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

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
