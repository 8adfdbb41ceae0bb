"""Small detection datasets (OpenImages-MLPerf and COCO layouts) and tiny ONNX detectors scoring them exactly.

Each image is a GRID x GRID board of cells; an object fills one cell with a colour that encodes its model
label and score: code = label + 1 split into R = (code // 16)·15 and G = (code % 16)·15, and B = 255·score;
black is empty. A detector with MLPerf's signature undoes the benchmark's normalisation, samples every cell's
centre, decodes the code and emits one detection per cell at the cell's box (or, with raw heads, fires the
anchor matching each cell plus a weaker duplicate that only NMS removes). After MLPerf preprocessing it finds
every object exactly, so mAP is 100.000%; perturbing whole categories in the annotations gives known figures:
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
from typing import Any, Literal

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

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


@dataclass(frozen=True)
class SyntheticDetection:
    """What `write_dataset` wrote and the mAP (percent) a perfect detector scores on it."""

    dataset_dir: Path
    images: int
    objects: int
    categories: int  # categories with at least one object
    expected_map: float


def category_of(benchmark: Benchmark, label: int) -> int:
    """The annotation category id of a model label (contiguous COCO labels map through the id list)."""
    if benchmark == "yolo":  # no background class: label 0 is the first category
        return COCO_CATEGORY_IDS[label]
    return COCO_CATEGORY_IDS[label - 1] if benchmark == "ssd-resnet34" else label


def colour_of(label: int, score: float) -> tuple[int, int, int]:
    code = label + 1
    return (code // 16) * 15, (code % 16) * 15, round(255 * score)


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


@dataclass(frozen=True)
class HeadTargets:
    """Per cell, the two anchors a raw-head detector fires on: the matching one and a weaker duplicate.

    The duplicate decodes to the cell's box moved by DUPLICATE_SHIFT of the input width (IoU about 0.9), so
    only a working NMS keeps it out of the detections.
    """

    anchors: int  # anchors per image
    indices: np.ndarray  # (2·cells,) int64: matching anchors, then duplicates
    regression: np.ndarray  # (2·cells, 4) float32 raw regressions decoding to the cell boxes


DUPLICATE_SHIFT = 0.0125
DUPLICATE_SCORE = 0.9  # the duplicate's score relative to the object's


def cell_boxes(size: float) -> np.ndarray:
    """(cells, 4) boxes (x1, y1, x2, y2) of the grid cells, row-major, in units where the image is `size`."""
    step = size / GRID
    return np.array(
        [[c * step, r * step, (c + 1) * step, (r + 1) * step] for r in range(GRID) for c in range(GRID)],
        dtype=np.float64,
    )


def retinanet_head_targets() -> HeadTargets:
    """Anchors of RetinaNet's P5 level (800x800: 25x25 locations, stride 32, offset 90000 + 22500, 9 per
    location): cell anchor 5 (ratio 1, size 203 -> half 102 after rounding) and 4 (size 161 -> half 80)."""
    offset, grid, stride, per_location = 112500, 25, 32, 9
    indices, regression = [], []
    for anchor, half, shift in ((5, 102.0, 0.0), (4, 80.0, DUPLICATE_SHIFT * 800)):
        for x1, y1, x2, y2 in cell_boxes(800):
            cx, cy = (x1 + x2) / 2 + shift, (y1 + y2) / 2
            column, row = round(cx / stride), round(cy / stride)
            indices.append(offset + (row * grid + column) * per_location + anchor)
            size = 2 * half
            regression.append(
                [
                    (cx - column * stride) / size,
                    (cy - row * stride) / size,
                    np.log((x2 - x1) / size),
                    np.log((y2 - y1) / size),
                ]
            )
    return HeadTargets(120087, np.array(indices, dtype=np.int64), np.array(regression, dtype=np.float32))


def ssd_head_targets() -> HeadTargets:
    """Default boxes of SSD-ResNet34's second level (1200x1200: 25x25, offset 10000, 625 per shape): shape 1
    (side sqrt(0.15·0.33)) and shape 0 (side 0.15), centred at ((j + 0.5) / 25, (i + 0.5) / 25)."""
    offset, grid = 10000, 25
    indices, regression = [], []
    for shape, side, shift in ((1, np.sqrt(0.15 * 0.33), 0.0), (0, 0.15, DUPLICATE_SHIFT)):
        side = float(np.float32(side))
        for x1, y1, x2, y2 in cell_boxes(1.0):
            cx, cy = (x1 + x2) / 2 + shift, (y1 + y2) / 2
            j, i = round(cx * grid - 0.5), round(cy * grid - 0.5)
            dcx, dcy = float(np.float32((j + 0.5) / grid)), float(np.float32((i + 0.5) / grid))
            indices.append(offset + shape * grid * grid + i * grid + j)
            regression.append(
                [
                    (cx - dcx) / (0.1 * side),
                    (cy - dcy) / (0.1 * side),
                    np.log((x2 - x1) / side) / 0.2,
                    np.log((y2 - y1) / side) / 0.2,
                ]
            )
    return HeadTargets(15130, np.array(indices, dtype=np.int64), np.array(regression, dtype=np.float32))


class _Graph:
    """A few helpers over onnx.helper so the detector reads as a list of steps."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []

    def const(self, name: str, value: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(value, name))
        return name

    def op(self, op_type: str, inputs: list[str], output: str, **attrs: Any) -> str:
        self.nodes.append(helper.make_node(op_type, inputs, [output], **attrs))
        return output


def _decode_cells(g: _Graph, layout: BenchmarkLayout) -> tuple[str, str]:
    """Nodes from the input to per-cell (N, cells) float label (-1 when empty) and score (0 when empty)."""
    cell = layout.input_size // GRID
    scale = (255.0 * np.array(layout.std, dtype=np.float32)).reshape(1, 3, 1, 1)
    offset = (255.0 * np.array(layout.mean, dtype=np.float32)).reshape(1, 3, 1, 1)
    g.op("Mul", [layout.input_name, g.const("pixel_scale", scale)], "scaled")
    g.op("Add", ["scaled", g.const("pixel_offset", offset)], "pixels")  # back to 0..255 values
    g.op(
        "Slice",
        [
            "pixels",
            g.const("centre_starts", np.array([cell // 2, cell // 2], dtype=np.int64)),
            g.const("centre_ends", np.array([layout.input_size, layout.input_size], dtype=np.int64)),
            g.const("centre_axes", np.array([2, 3], dtype=np.int64)),
            g.const("centre_steps", np.array([cell, cell], dtype=np.int64)),
        ],
        "centres",
    )  # (N, 3, GRID, GRID)
    g.op("Reshape", ["centres", g.const("cells_shape", np.array([0, 3, GRID * GRID], dtype=np.int64))], "flat")
    g.nodes.append(helper.make_node("Split", ["flat"], ["red", "green", "blue"], axis=1, num_outputs=3))
    fifteen = g.const("fifteen", np.array(15.0, dtype=np.float32))
    g.op("Round", [g.op("Div", ["red", fifteen], "red_steps")], "high")
    g.op("Round", [g.op("Div", ["green", fifteen], "green_steps")], "low")
    g.op("Mul", ["high", g.const("sixteen", np.array(16.0, dtype=np.float32))], "high16")
    g.op("Add", ["high16", "low"], "code3")
    g.op("Squeeze", ["code3", g.const("channel_axis", np.array([1], dtype=np.int64))], "code")
    g.op("Sub", ["code", g.const("one", np.array(1.0, dtype=np.float32))], "label_f")
    g.op(
        "Cast",
        [g.op("Greater", ["code", g.const("half", np.array(0.5, dtype=np.float32))], "is_obj")],
        "present",
        to=TensorProto.FLOAT,
    )
    g.op("Squeeze", ["blue", "channel_axis"], "blue_flat")
    g.op("Div", ["blue_flat", g.const("full", np.array(255.0, dtype=np.float32))], "intensity")
    g.op("Mul", ["intensity", "present"], "score")
    return "label_f", "score"


def _final_outputs(g: _Graph, layout: BenchmarkLayout, label: str, score: str) -> None:
    boxes = cell_boxes(layout.input_size if layout.pixel_boxes else 1.0).astype(np.float32)[None]
    g.op("Unsqueeze", [score, g.const("last_axis", np.array([-1], dtype=np.int64))], "score_col")
    g.op("Mul", ["score_col", g.const("zero", np.array(0.0, dtype=np.float32))], "zeros_col")
    g.op("Add", ["zeros_col", g.const("cell_boxes", boxes)], layout.output_names[0])  # (N, cells, 4)
    g.op("Cast", [label], layout.output_names[1], to=TensorProto.INT64)
    g.op("Identity", [score], layout.output_names[2])


def _head_outputs(g: _Graph, benchmark: Benchmark, label: str, score: str) -> tuple[str, str]:
    """Raw heads: every anchor scores low except each cell's matching anchor and its weaker duplicate."""
    targets = retinanet_head_targets() if benchmark == "retinanet" else ssd_head_targets()
    classes = OPENIMAGES_CLASSES if benchmark == "retinanet" else 81
    retina = benchmark == "retinanet"
    g.op("Cast", [label], "label_i", to=TensorProto.INT64)
    g.op("Unsqueeze", ["label_i", g.const("last_axis", np.array([-1], dtype=np.int64))], "label_col")
    g.op("Equal", ["label_col", g.const("class_ids", np.arange(classes, dtype=np.int64))], "onehot_b")
    g.op("Cast", ["onehot_b"], "onehot", to=TensorProto.FLOAT)  # (N, cells, classes)
    rows = []
    for name, factor in (("match", 1.0), ("dup", DUPLICATE_SCORE)):
        g.op("Mul", [score, g.const(f"{name}_factor", np.array(factor, dtype=np.float32))], f"{name}_s")
        g.op(
            "Clip",
            [
                f"{name}_s",
                g.const(f"{name}_lo", np.array(1e-3, np.float32)),
                g.const(f"{name}_hi", np.array(0.999, np.float32)),
            ],
            f"{name}_p",
        )
        g.op("Sub", [g.const(f"{name}_1", np.array(1.0, np.float32)), f"{name}_p"], f"{name}_q")
        # RetinaNet: sigmoid(logit(p)) = p. SSD: softmax with 80 zero logits gives p for log(80 p / (1 - p)).
        odds_scale = np.array(1.0 if retina else 80.0, np.float32)
        g.op("Mul", [f"{name}_p", g.const(f"{name}_odds", odds_scale)], f"{name}_num")
        g.op("Log", [g.op("Div", [f"{name}_num", f"{name}_q"], f"{name}_ratio")], f"{name}_t")
        g.op("Unsqueeze", [f"{name}_t", "last_axis"], f"{name}_tcol")
        base = -8.0 if retina else 0.0
        g.op("Sub", [f"{name}_tcol", g.const(f"{name}_base", np.array(base, np.float32))], f"{name}_lift")
        g.op("Mul", ["onehot", f"{name}_lift"], f"{name}_hot")
        g.op("Add", [f"{name}_hot", f"{name}_base"], f"{name}_row")
        rows.append(f"{name}_row")
    g.op("Concat", rows, "rows", axis=1)  # (N, 2·cells, classes)
    if not retina:  # an empty cell's rows say background, like every other default box
        g.op("Sub", [g.const("one_f", np.array(1.0, np.float32)), "present"], "absent")
        g.op("Concat", ["absent", "absent"], "absent2", axis=1)
        g.op("Unsqueeze", ["absent2", "last_axis"], "absent_col")
        background = np.zeros((1, 1, classes), np.float32)
        background[..., 0] = 8.0
        g.op("Mul", ["absent_col", g.const("bg_row", background)], "bg_rows")
        g.op("Add", ["rows", "bg_rows"], "rows_bg")
        rows_out = "rows_bg"
    else:
        rows_out = "rows"
    g.op("Transpose", [rows_out], "updates", perm=[1, 0, 2])  # (2·cells, N, classes)
    g.op("Shape", [score], "batch", start=0, end=1)
    fill = np.full((1, 1, classes), -8.0, np.float32)
    if not retina:
        fill[:] = 0.0
        fill[..., 0] = 8.0
    g.op(
        "Concat",
        [
            g.const("anchors", np.array([targets.anchors], np.int64)),
            "batch",
            g.const("classes", np.array([classes], np.int64)),
        ],
        "logit_shape",
        axis=0,
    )
    g.op("Expand", [g.const("fill", fill), "logit_shape"], "logit_base")
    indices = g.const("indices", targets.indices.reshape(-1, 1))
    g.op("ScatterND", ["logit_base", indices, "updates"], "logits_anb")
    g.op("Concat", ["anchors", "batch", g.const("four", np.array([4], np.int64))], "reg_shape", axis=0)
    g.op("Expand", [g.const("reg_zero", np.zeros((1, 1, 4), np.float32)), "reg_shape"], "reg_base")
    count = len(targets.indices)
    g.op("Concat", [g.const("count", np.array([count], np.int64)), "batch", "four"], "upd_shape", axis=0)
    g.op("Expand", [g.const("reg_rows", targets.regression.reshape(count, 1, 4)), "upd_shape"], "reg_updates")
    g.op("ScatterND", ["reg_base", indices, "reg_updates"], "reg_anb")
    if retina:
        g.op("Transpose", ["logits_anb"], "cls_logits", perm=[1, 0, 2])
        g.op("Transpose", ["reg_anb"], "bbox_regression", perm=[1, 0, 2])
        return "cls_logits", "bbox_regression"
    g.op("Transpose", ["reg_anb"], "locs", perm=[1, 2, 0])
    g.op("Transpose", ["logits_anb"], "confs", perm=[1, 2, 0])
    return "locs", "confs"


def write_model(path: Path, benchmark: Benchmark, outputs: Literal["detections", "heads"] = "detections") -> Path:
    """Write the detector for `benchmark`: MLPerf's final-detection signature, or raw per-anchor heads."""
    if benchmark == "yolo":
        raise ValueError("the YOLO detector letterboxes; write it with msb.synthetic.yolo.write_model")
    layout = LAYOUTS[benchmark]
    g = _Graph()
    label, score = _decode_cells(g, layout)
    size = layout.input_size
    if outputs == "detections":
        _final_outputs(g, layout, label, score)
        cells = GRID * GRID
        graph_outputs = [
            helper.make_tensor_value_info(layout.output_names[0], TensorProto.FLOAT, ["N", cells, 4]),
            helper.make_tensor_value_info(layout.output_names[1], TensorProto.INT64, ["N", cells]),
            helper.make_tensor_value_info(layout.output_names[2], TensorProto.FLOAT, ["N", cells]),
        ]
    else:
        first, second = _head_outputs(g, benchmark, label, score)
        shapes: tuple[list[str | int], list[str | int]]
        if benchmark == "retinanet":
            shapes = (["N", 120087, OPENIMAGES_CLASSES], ["N", 120087, 4])
        else:
            shapes = (["N", 4, 15130], ["N", 81, 15130])
        graph_outputs = [
            helper.make_tensor_value_info(first, TensorProto.FLOAT, shapes[0]),
            helper.make_tensor_value_info(second, TensorProto.FLOAT, shapes[1]),
        ]
    graph = helper.make_graph(
        g.nodes,
        f"synthetic_{benchmark}_{outputs}",
        inputs=[helper.make_tensor_value_info(layout.input_name, TensorProto.FLOAT, ["N", 3, size, size])],
        outputs=graph_outputs,
        initializer=g.initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="msb.synthetic")
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


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
