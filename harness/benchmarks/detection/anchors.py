"""The fixed anchor boxes of MLPerf's RetinaNet and SSD-ResNet34, for models that output raw per-anchor heads.

RetinaNet (mlcommons/training single_stage_detector/ssd/model/retinanet.py and anchor_utils.py): per FPN level
P3..P7 the sizes (x, int(x·2^(1/3)), int(x·2^(2/3))) for x in 32, 64, ..., 512 and aspect ratios (0.5, 1, 2),
aspect-ratio major; cell anchors rounded half-to-even; centred at (column·stride, row·stride) with
stride = image_size // feature_size; anchors ordered level, row, column, cell anchor.

SSD-ResNet34 (mlcommons/inference vision/classification_and_detection/python/models/ssd_r34.py,
dboxes_R34_coco):
feature maps 50, 25, 13, 7, 3, 3 on a 1200x1200 input, steps int(1200 / size), scales s·1200/300 for
s in 21, 45, 99, 153, 207, 261, 315, aspect ratios [2], [2,3], [2,3], [2,3], [2], [2]; boxes ordered level,
box shape, row, column; (cx, cy, w, h) normalised and clamped to [0, 1].
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

RETINANET_BASE_SIZES: tuple[int, ...] = (32, 64, 128, 256, 512)
RETINANET_ASPECT_RATIOS: tuple[float, ...] = (0.5, 1.0, 2.0)
SSD_R34_FEATURE_SIZES: tuple[int, ...] = (50, 25, 13, 7, 3, 3)
SSD_R34_SCALES_300: tuple[int, ...] = (21, 45, 99, 153, 207, 261, 315)
SSD_R34_ASPECT_RATIOS: tuple[tuple[int, ...], ...] = ((2,), (2, 3), (2, 3), (2, 3), (2,), (2,))


@dataclass(frozen=True)
class AnchorSet:
    """Anchors of all levels, concatenated, and how many belong to each level (in order)."""

    boxes: np.ndarray  # (A, 4) float32
    per_level: tuple[int, ...]


def retinanet_feature_sizes(image_size: int) -> tuple[int, ...]:
    """P3..P7 sizes of the ResNeXt50-FPN: strides 8, 16, 32, then two stride-2 3x3 convs with padding 1."""
    sizes = [math.ceil(image_size / 8), math.ceil(image_size / 16), math.ceil(image_size / 32)]
    for _ in range(2):
        sizes.append((sizes[-1] - 1) // 2 + 1)
    return tuple(sizes)


def retinanet_anchors(image_size: int = 800) -> AnchorSet:
    """RetinaNet's anchors in input pixels as (x1, y1, x2, y2); 120087 of them for 800x800."""
    levels = []
    for base, feature in zip(RETINANET_BASE_SIZES, retinanet_feature_sizes(image_size), strict=True):
        scales = np.array([base, int(base * 2 ** (1.0 / 3)), int(base * 2 ** (2.0 / 3))], dtype=np.float32)
        h_ratios = np.sqrt(np.array(RETINANET_ASPECT_RATIOS, dtype=np.float32))
        w_ratios = np.float32(1.0) / h_ratios
        ws = (w_ratios[:, None] * scales[None, :]).reshape(-1)
        hs = (h_ratios[:, None] * scales[None, :]).reshape(-1)
        cell = np.round(np.stack([-ws, -hs, ws, hs], axis=1) / np.float32(2.0))
        stride = image_size // feature
        shifts_1d = np.arange(feature, dtype=np.float32) * np.float32(stride)
        shift_y, shift_x = np.meshgrid(shifts_1d, shifts_1d, indexing="ij")
        shifts = np.stack([shift_x.ravel(), shift_y.ravel(), shift_x.ravel(), shift_y.ravel()], axis=1)
        levels.append((shifts[:, None, :] + cell[None, :, :]).reshape(-1, 4).astype(np.float32))
    return AnchorSet(boxes=np.concatenate(levels), per_level=tuple(len(level) for level in levels))


def ssd_r34_default_boxes(image_size: int = 1200) -> AnchorSet:
    """SSD-ResNet34's default boxes as normalised (cx, cy, w, h); 15130 of them for 1200x1200."""
    steps = [int(image_size / size) for size in SSD_R34_FEATURE_SIZES]
    scales = [int(s * image_size / 300) for s in SSD_R34_SCALES_300]
    levels = []
    for index, size in enumerate(SSD_R34_FEATURE_SIZES):
        cells = image_size // steps[index]
        sk1 = scales[index] / image_size
        sk2 = scales[index + 1] / image_size
        sk3 = math.sqrt(sk1 * sk2)
        shapes = [(sk1, sk1), (sk3, sk3)]
        for alpha in SSD_R34_ASPECT_RATIOS[index]:
            w, h = sk1 * math.sqrt(alpha), sk1 / math.sqrt(alpha)
            shapes += [(w, h), (h, w)]
        level = [
            ((j + 0.5) / cells, (i + 0.5) / cells, w, h)
            for w, h in shapes
            for i, j in itertools.product(range(size), range(size))
        ]
        levels.append(np.clip(np.array(level, dtype=np.float32), 0.0, 1.0))
    return AnchorSet(boxes=np.concatenate(levels), per_level=tuple(len(level) for level in levels))
