"""TensorRT's half: the INT8 calibration cache, made by building an INT8 engine with the backend's entropy calibrator.

The backend keys the cache to the model's and the list's sha256 (harness.backends.tensorrt.calibration): a cache of
other weights or another list is rebuilt, never reused. The engine built on the way is a by-product left in scratch.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from harness.backends.base import Backend


def calibrate(
    make_backend: Callable[[str, dict[str, Any]], Backend],
    model: Path,
    calibration_list: Path,
    load: Callable[[str], np.ndarray],
    output: Path,
    batch_size: int,
) -> tuple[Backend, Path]:
    """The loaded INT8 backend (the gate scores it) and the cache it wrote: `output/<model stem>.calib`."""
    backend = make_backend(
        "int8",
        {
            "cache_dir": output,
            "calibration_list": calibration_list,
            "calibration_loader": load,
            "calibration_batch_size": batch_size,
        },
    )
    backend.load(model)
    return backend, output / f"{model.stem}.calib"
