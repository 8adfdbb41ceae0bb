"""The TensorRT backend's options, kept apart from the backend so the registry reads them without loading it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class TensorRTOptions:
    """Settings beyond the registry's common benchmark/device/precision/threads/output_names."""

    # The optimisation profiles' batch sizes; None: one profile of the run's batch size (the spec's, for its
    # scenario), so a description's batch size is all it takes. Given, they must admit the run's batch size.
    batch_sizes: tuple[int, ...] | None = None
    streams: int = 2
    engine: Path | None = None  # a prebuilt serialized engine (KILT-style); skips the build
    plugins: tuple[Path, ...] = ()
    cache_dir: Path = Path(".trt-engines")
    no_rebuild: bool = False
    calibration_list: Path | None = None
    calibration_loader: Callable[[str], np.ndarray] | None = None  # image name -> preprocessed sample
    calibration_batch_size: int | None = None  # None: the largest profile's batch size
    # A cache made by `build.py calibrate` (its record beside it as <cache>.json): used as it is, never recalibrated,
    # so the INT8 engine is the one whose accuracy gate passed; a cache for other weights is refused.
    calibration_cache: Path | None = None
    recalibrate_mismatched: bool = True
    nms: str = "host"
    nms_outputs: tuple[str, str] = ("boxes", "scores")
    sample_shape: tuple[int, ...] | None = None  # for ONNX inputs with dynamic sample dims
    workspace_bytes: int = 4 << 30
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Options read from JSON (the CLI, a system file) arrive as lists; profiles and engine keys need tuples.
        for name in ("batch_sizes", "plugins", "nms_outputs"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, tuple(getattr(self, name)))
