"""Area resize (harness/benchmarks/area_resize.py)."""

from __future__ import annotations

import numpy as np

from harness.benchmarks.area_resize import area_resize_window


def test_area_resize_at_half_size_is_the_rounded_mean_of_each_2x2_block() -> None:
    image = np.random.default_rng(0).integers(0, 256, size=(512, 512, 3), dtype=np.uint8)
    out = area_resize_window(image, (256, 256), (16, 16, 224, 224))
    blocks = image.astype(np.float64).reshape(256, 2, 256, 2, 3).mean(axis=(1, 3))
    np.testing.assert_array_equal(out, np.rint(blocks[16:240, 16:240]).astype(np.float32))
