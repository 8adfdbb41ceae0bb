"""Calibration lists (MLPerf's cal_image_list_option_1.txt and the like: one image name a line): read and identified.

Here, below the backends, because the TensorRT backend keys its calibration cache to a list's identity; finding the
listed images is `harness/calibrate/lists.py`'s job.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

from harness.backends.base import BackendError


class CalibrationError(BackendError):
    """Calibration input or cache is unusable; the message names the file and the fix."""


def read_calibration_list(path: Path) -> list[str]:
    """Image names, one a line; blank lines ignored, duplicates refused."""
    if not path.is_file():
        raise CalibrationError(f"calibration list {path} does not exist; pass MLPerf's calibration list file")
    names = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if not names:
        raise CalibrationError(f"calibration list {path} is empty; it needs one image name per line")
    duplicates = sorted(name for name, count in Counter(names).items() if count > 1)
    if duplicates:
        raise CalibrationError(f"calibration list {path} names {duplicates[:3]} more than once")
    return names


def list_sha256(names: list[str]) -> str:
    """The list's identity: its names, so line endings and blank lines do not make another list."""
    return hashlib.sha256("\n".join(names).encode()).hexdigest()
