"""OpenCV's INTER_AREA resize, in NumPy, for preprocessing that must match the MLPerf reference.

The reference resizes ImageNet images with `cv2.resize(..., interpolation=cv2.INTER_AREA)`; the images do not
ship OpenCV. Pillow has no equivalent (its BOX filter takes whole source pixels, not fractional coverage, and
differs by several levels), so the same weights are built here as two small matrices:
- shrinking on both axes: each output pixel is the coverage-weighted mean of the source pixels it spans;
- otherwise (OpenCV then interpolates linearly with "area" coefficients): two taps per output pixel.
Only the requested output window is computed, so resize-then-crop costs two small matrix products.
"""

from __future__ import annotations

import math

import numpy as np

_SLIVER = 1e-3  # OpenCV ignores coverage below this, so do we


def area_resize_window(image: np.ndarray, size: tuple[int, int], window: tuple[int, int, int, int]) -> np.ndarray:
    """`image` (H, W, C uint8) resized to `size` (width, height), then cut to `window` (left, top, w, h).

    Values are rounded and clipped to 0..255 as OpenCV does for 8-bit images; the result is float32.
    """
    height, width = image.shape[:2]
    new_width, new_height = size
    left, top, crop_width, crop_height = window
    area = width >= new_width and height >= new_height
    rows = _weights(height, new_height, area)[top : top + crop_height]
    cols = _weights(width, new_width, area)[left : left + crop_width]
    pixels = image.astype(np.float32)
    out = np.einsum("ys,sxc->yxc", rows, pixels, optimize=True)
    out = np.einsum("xs,ysc->yxc", cols, out, optimize=True)
    return np.clip(np.rint(out), 0, 255).astype(np.float32)


def _weights(source: int, target: int, area: bool) -> np.ndarray:
    """A (target, source) matrix: row d holds the weight of every source pixel in output pixel d."""
    matrix = np.zeros((target, source), dtype=np.float32)
    scale = source / target
    for d in range(target):
        if area:
            start, end = d * scale, min((d + 1) * scale, source)
            cell = end - start
            for s in range(math.floor(start), math.ceil(end)):
                overlap = min(end, s + 1) - max(start, s)
                if overlap > _SLIVER:
                    matrix[d, s] += overlap / cell
        else:
            s = math.floor(d * scale)
            fraction = (d + 1) - (s + 1) / scale
            fraction = 0.0 if fraction <= 0 else fraction - math.floor(fraction)
            matrix[d, min(max(s, 0), source - 1)] += 1.0 - fraction
            matrix[d, min(max(s + 1, 0), source - 1)] += fraction
    return matrix
