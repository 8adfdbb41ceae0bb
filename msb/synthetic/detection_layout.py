"""The synthetic detection board and each benchmark's layout: MLPerf's file names, signatures and normalisation.

Each image is a GRID x GRID board of cells; an object fills one cell with a colour that encodes its model
label and score (`colour_of`); black is empty. The dataset (msb/synthetic/detection.py) and the detectors
(msb/synthetic/detection_model.py, msb/synthetic/yolo.py) share these facts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Benchmark = Literal["retinanet", "ssd-resnet34", "yolo"]

GRID = 4
SHIFT_FRACTION = 0.16  # IoU (1 - f) / (1 + f) = 0.724: a match at thresholds 0.50..0.70 only
# Sizes are multiples of GRID so every cell has whole pixels; portrait, landscape, up- and down-scaled.
SIZES: tuple[tuple[int, int], ...] = ((80, 60), (64, 96), (100, 100), (48, 72))
# COCO's 80 category ids (not contiguous); the model's label k (1..80) is category COCO_CATEGORY_IDS[k - 1].
COCO_CATEGORY_IDS: tuple[int, ...] = (
    *range(1, 12),
    *range(13, 26),
    27,
    28,
    *range(31, 45),
    *range(46, 66),
    67,
    70,
    *range(72, 83),
    *range(84, 91),
)
OPENIMAGES_CLASSES = 264


@dataclass(frozen=True)
class BenchmarkLayout:
    """How one benchmark's dataset and model look: facts from the MLPerf reference, kept here for msb."""

    annotations: str
    images: str
    input_name: str
    input_size: int
    output_names: tuple[str, ...]  # boxes, labels, scores (YOLO: its one raw output)
    labels: tuple[int, ...]  # the model labels the synthetic objects use
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    pixel_boxes: bool  # boxes in input pixels (RetinaNet) or normalised (SSD-ResNet34)


LAYOUTS: dict[str, BenchmarkLayout] = {
    "retinanet": BenchmarkLayout(
        annotations="annotations/openimages-mlperf.json",
        images="validation/data",
        input_name="images",
        input_size=800,
        output_names=("boxes", "labels", "scores"),
        labels=(0, 7, 31, 64, 100, 150, 199, 230, 255, 263),
        mean=(0.0, 0.0, 0.0),
        std=(1.0, 1.0, 1.0),
        pixel_boxes=True,
    ),
    "ssd-resnet34": BenchmarkLayout(
        annotations="annotations/instances_val2017.json",
        images="val2017",
        input_name="image",
        input_size=1200,
        output_names=("bboxes", "labels", "scores"),
        labels=(1, 2, 9, 17, 33, 44, 57, 68, 79, 80),
        mean=(0.485, 0.456, 0.406),
        std=(0.229, 0.224, 0.225),
        pixel_boxes=False,
    ),
    # MLPerf's YOLO subset layout; model labels are YOLO's contiguous classes 0..79 (msb/synthetic/yolo.py).
    "yolo": BenchmarkLayout(
        annotations="annotations/instances_val2017.json",
        images="val2017_safe",
        input_name="images",
        input_size=640,
        output_names=("output0",),
        labels=(0, 1, 8, 16, 32, 43, 56, 67, 78, 79),
        mean=(0.0, 0.0, 0.0),
        std=(1.0, 1.0, 1.0),
        pixel_boxes=True,
    ),
}


def category_of(benchmark: Benchmark, label: int) -> int:
    """The annotation category id of a model label (contiguous COCO labels map through the id list)."""
    if benchmark == "yolo":  # no background class: label 0 is the first category
        return COCO_CATEGORY_IDS[label]
    return COCO_CATEGORY_IDS[label - 1] if benchmark == "ssd-resnet34" else label


def colour_of(label: int, score: float) -> tuple[int, int, int]:
    code = label + 1
    return (code // 16) * 15, (code % 16) * 15, round(255 * score)


def cell_boxes(size: float) -> np.ndarray:
    """(cells, 4) boxes (x1, y1, x2, y2) of the grid cells, row-major, in units where the image is `size`."""
    step = size / GRID
    return np.array(
        [[c * step, r * step, (c + 1) * step, (r + 1) * step] for r in range(GRID) for c in range(GRID)],
        dtype=np.float64,
    )
