"""Small detection datasets (OpenImages-MLPerf and COCO layouts) and tiny ONNX detectors scoring them exactly.

Each image is a GRID x GRID board of cells; an object fills one cell with a colour that encodes its model
label and score: code = label + 1 split into R = (code // 16)·15 and G = (code % 16)·15, and B = 255·score;
black is empty (msb/synthetic/detection_layout.py). The detector (msb/synthetic/detection_model.py) decodes
the code at every cell's centre. After MLPerf preprocessing it finds every object exactly, so mAP is
100.000%; perturbing whole categories in the annotations gives known figures:
- `relabel`: annotations of k categories name categories the detector never predicts -> those have AP 0, the
  others 1: mAP = (n - k) / n;
- `shift`: boxes of k categories move by 0.16 of their width (IoU 0.724) -> TP only at IoU 0.50..0.70,
  AP 0.5: mAP = (n - k / 2) / n.

Run `python -m msb.synthetic.detection OUTDIR --benchmark retinanet` to write OUTDIR/dataset and
OUTDIR/model.onnx.
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from msb.synthetic.detection_layout import (
    COCO_CATEGORY_IDS,
    GRID,
    LAYOUTS,
    OPENIMAGES_CLASSES,
    SHIFT_FRACTION,
    SIZES,
    Benchmark,
    BenchmarkLayout,
    category_of,
    colour_of,
)
from msb.synthetic.detection_model import write_model


@dataclass(frozen=True)
class SyntheticDetection:
    """What `write_dataset` wrote and the mAP (percent) a perfect detector scores on it."""

    dataset_dir: Path
    images: int
    objects: int
    categories: int  # categories with at least one object
    expected_map: float


def write_dataset(
    out_dir: Path,
    benchmark: Benchmark,
    count: int,
    relabel: int = 0,
    shift: int = 0,
    empty_images: int = 0,
    seed: int = 0,
) -> SyntheticDetection:
    """Write `count` images with objects (plus `empty_images` without) and the annotation file."""
    layout = LAYOUTS[benchmark]
    classes = len(layout.labels)
    if count < classes:
        raise ValueError(f"count must be at least {classes} so every synthetic category has an object")
    if relabel + shift > classes or min(relabel, shift, empty_images) < 0:
        raise ValueError(f"relabel + shift must be between 0 and {classes}, empty_images >= 0")
    rng = random.Random(seed)
    image_dir = out_dir / layout.images
    image_dir.mkdir(parents=True, exist_ok=True)
    relabelled = set(layout.labels[:relabel])
    shifted = set(layout.labels[relabel : relabel + shift])
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    order = list(range(count + empty_images))
    rng.shuffle(order)  # empty images land between the others, as in COCO
    for position, index in enumerate(order):
        width, height = SIZES[position % len(SIZES)]
        name = f"synthetic_{position:06d}.png"
        pixels = np.zeros((height, width, 3), dtype=np.uint8)
        cells = rng.sample(range(GRID * GRID), 0 if index >= count else rng.randint(1, 3))
        for number, cell in enumerate(cells):
            # The first object of image i has label i (mod classes) so every category is present.
            label = layout.labels[index % classes] if number == 0 else rng.choice(layout.labels)
            row, column = divmod(cell, GRID)
            cw, ch = width // GRID, height // GRID
            pixels[row * ch : (row + 1) * ch, column * cw : (column + 1) * cw] = colour_of(label, rng.uniform(0.6, 1.0))
            x = column * cw + (SHIFT_FRACTION * cw if label in shifted else 0.0)
            category = category_of(benchmark, label)
            if label in relabelled:  # each relabelled category gets its own never-predicted category
                category = _unused_categories(benchmark, layout)[layout.labels.index(label)]
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": position + 1,
                    "category_id": category,
                    "bbox": [float(x), float(row * ch), float(cw), float(ch)],
                    "area": float(cw * ch),
                    "iscrowd": 0,
                }
            )
        Image.fromarray(pixels).save(image_dir / name, format="PNG")
        images.append({"id": position + 1, "file_name": name, "height": height, "width": width})
    (out_dir / layout.annotations).parent.mkdir(parents=True, exist_ok=True)
    (out_dir / layout.annotations).write_text(
        json.dumps({"images": images, "annotations": annotations, "categories": _categories(benchmark)})
    )
    # Relabelled categories: detections without ground truth (not evaluated) and ground truth without
    # detections (AP 0); shifted ones: AP 0.5; the rest AP 1. pycocotools averages over categories with truth.
    expected = 100.0 * (classes - relabel - shift / 2) / classes
    return SyntheticDetection(
        dataset_dir=out_dir,
        images=len(images),
        objects=len(annotations),
        categories=classes,
        expected_map=expected,
    )


def _unused_categories(benchmark: Benchmark, layout: BenchmarkLayout) -> list[int]:
    """Categories of the annotation file that the synthetic objects never use (one per model label)."""
    labels = {"ssd-resnet34": range(1, 81), "yolo": range(80)}.get(benchmark, range(OPENIMAGES_CLASSES))
    return [category_of(benchmark, label) for label in labels if label not in layout.labels]


def _categories(benchmark: Benchmark) -> list[dict[str, Any]]:
    if benchmark in ("ssd-resnet34", "yolo"):
        return [{"id": cid, "name": f"coco_{cid}", "supercategory": "synthetic"} for cid in COCO_CATEGORY_IDS]
    return [{"id": i, "name": f"class_{i}", "supercategory": None} for i in range(OPENIMAGES_CLASSES)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m msb.synthetic.detection",
        description="Write a small detection dataset (OUTDIR/dataset) and a detector that scores it exactly "
        "(OUTDIR/model.onnx).",
    )
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--benchmark", choices=("retinanet", "ssd-resnet34"), required=True)  # yolo: its own module
    parser.add_argument("--count", type=int, default=16, help="images with objects (default 16)")
    parser.add_argument("--relabel", type=int, default=0, help="categories whose annotations name another one")
    parser.add_argument("--shift", type=int, default=0, help="categories whose boxes move (IoU 0.724)")
    parser.add_argument("--outputs", choices=("detections", "heads"), default="detections")
    args = parser.parse_args(argv)
    try:
        data = write_dataset(args.outdir / "dataset", args.benchmark, args.count, args.relabel, args.shift)
    except ValueError as error:
        parser.error(str(error))
    model = write_model(args.outdir / "model.onnx", args.benchmark, args.outputs)
    print(f"dataset: {data.dataset_dir} ({data.images} images, {data.objects} objects)")
    print(f"model:   {model}")
    print(f"expected: mAP={data.expected_map:.3f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
