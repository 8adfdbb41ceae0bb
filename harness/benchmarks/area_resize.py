"""OpenCV's INTER_AREA resize, in NumPy, for preprocessing that must match the MLPerf reference.

The reference resizes ImageNet images with `cv2.resize(..., interpolation=cv2.INTER_AREA)`; the images do not
ship OpenCV. Pillow has no equivalent (its BOX filter takes whole source pixels, not fractional coverage, and
differs by several levels), so the same weights are built here, per axis:
- shrinking on both axes: each output pixel is the coverage-weighted mean of the source pixels it spans;
- otherwise (OpenCV then interpolates linearly with "area" coefficients): two taps per output pixel.
Only the requested output window is computed, one axis at a time, from the few taps of each pixel.
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
    row_index, row_weight = _taps(height, new_height, area)
    col_index, col_weight = _taps(width, new_width, area)
    rows = slice(top, top + crop_height)
    cols = slice(left, left + crop_width)
    pixels = image.astype(np.float32)
    # Each output pixel reads only a few source pixels: gather them per tap instead of a dense product.
    vertical = sum(row_weight[rows, k, None, None] * pixels[row_index[rows, k]] for k in range(row_index.shape[1]))
    out = sum(col_weight[None, cols, k, None] * vertical[:, col_index[cols, k]] for k in range(col_index.shape[1]))
    return np.clip(np.rint(out), 0, 255).astype(np.float32)


def _taps(source: int, target: int, area: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per output pixel, the source indices it reads and their weights, both shaped (target, taps)."""
    scale = source / target
    taps: list[list[tuple[int, float]]] = []
    for d in range(target):
        if area:
            start, end = d * scale, min((d + 1) * scale, source)
            cell = end - start
            pixel_taps = [
                (s, (min(end, s + 1) - max(start, s)) / cell)
                for s in range(math.floor(start), math.ceil(end))
                if min(end, s + 1) - max(start, s) > _SLIVER
            ]
        else:
            s = math.floor(d * scale)
            fraction = (d + 1) - (s + 1) / scale
            fraction = 0.0 if fraction <= 0 else fraction - math.floor(fraction)
            clamp = source - 1
            pixel_taps = [(min(max(s, 0), clamp), 1.0 - fraction), (min(max(s + 1, 0), clamp), fraction)]
        taps.append(pixel_taps)
    width = max(len(pixel_taps) for pixel_taps in taps)
    index = np.zeros((target, width), dtype=np.intp)
    weight = np.zeros((target, width), dtype=np.float32)  # unused taps read pixel 0 with weight 0
    for d, pixel_taps in enumerate(taps):
        for k, (s, w) in enumerate(pixel_taps):
            index[d, k], weight[d, k] = s, w
    return index, weight
