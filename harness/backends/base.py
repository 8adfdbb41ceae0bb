"""The interface every inference backend implements.

A backend is deliberately small: the harness owns batching, LoadGen and accuracy; a backend only turns a batch of
preprocessed inputs into raw model outputs and says what it ran on (recorded next to the results).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np


class BackendError(RuntimeError):
    """A backend could not load or run the model; the message names the input and the fix."""


@dataclass(frozen=True)
class BackendInfo:
    """What a backend ran on; written into the results so a number can be traced to its runtime."""

    backend: str  # "onnxruntime", "tensorrt", "pytorch"
    version: str
    device: str  # "cpu", "cuda:0 (NVIDIA H100 80GB HBM3)", ...
    precision: str  # "fp32", "fp16", "int8", ...
    details: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NoOptions:
    """The options of a backend that takes none (the registry refuses every key)."""


class Backend(Protocol):
    """Load a model, warm up, infer batches.

    `infer` takes one batch as an array shaped like the benchmark's input (first axis is the batch) and returns the
    model outputs in the order of the benchmark's `output_names`, each with the batch on the first axis.
    """

    def load(self, model_path: Path) -> None: ...

    def warmup(self, batch: np.ndarray) -> None: ...

    def infer(self, batch: np.ndarray) -> list[np.ndarray]: ...

    def info(self) -> BackendInfo: ...


@runtime_checkable
class ShapeReportingBackend(Protocol):
    """Optional: a backend that can read the loaded model's declared input shape, so a model made for another input
    size fails before the run with both sizes named (for the others the warm-up batch is the check)."""

    def model_input_shape(self) -> tuple[int | None, ...]:
        """Batch axis first; None where a dimension is symbolic."""
        ...
