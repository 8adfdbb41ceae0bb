"""Image decoding and resizing as MLPerf's detection preprocessing does it, without OpenCV.

The reference (python/dataset.py, maybe_resize) reads with cv2.imread, converts to float32 RGB and resizes
with cv2.resize(INTER_LINEAR). OpenCV's linear resize samples at half-pixel centres, clamps at the borders
and does not low-pass when shrinking, so Pillow's antialiasing bilinear filter would differ. This is that
resize in float32 NumPy: equal to OpenCV's own code up to float rounding; OpenCV builds that route the call
to Intel IPP differ from both by up to about 5e-5 of a pixel value's range.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError


def read_rgb(path: Path) -> np.ndarray:
    """(H, W, 3) float32 RGB as cv2.imread's colour mode gives it (then reversed to RGB by the reference).

    Like cv2.imread, grayscale and palette images become three channels and the EXIF orientation is applied
    (the OpenImages-MLPerf annotation sizes were measured that way).
    """
    try:
        with Image.open(path) as image:
            return np.asarray(ImageOps.exif_transpose(image).convert("RGB"), dtype=np.float32)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ValueError(f"cannot decode image {path}: {error}; replace the file with a valid image") from error


def _axis_weights(source: int, target: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    scale = source / target
    position = ((np.arange(target, dtype=np.float64) + 0.5) * scale - 0.5).astype(np.float32)
    low = np.floor(position).astype(np.int64)
    frac = (position - low).astype(np.float32)
    # OpenCV: left of the first pixel or right of the last, take that edge pixel with weight 1.
    before = low < 0
    low[before], frac[before] = 0, 0
    after = low >= source - 1
    low[after], frac[after] = source - 1, 0
    high = np.minimum(low + 1, source - 1)
    return low, high, frac


def resize_linear(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """cv2.resize(image, (width, height), interpolation=INTER_LINEAR) for a float32 (H, W, C) image."""
    x_low, x_high, x_frac = _axis_weights(image.shape[1], width)
    y_low, y_high, y_frac = _axis_weights(image.shape[0], height)
    wx = x_frac[None, :, None]
    rows = image[:, x_low] * (np.float32(1) - wx) + image[:, x_high] * wx  # horizontal pass first, as OpenCV
    wy = y_frac[:, None, None]
    return (rows[y_low] * (np.float32(1) - wy) + rows[y_high] * wy).astype(np.float32)
