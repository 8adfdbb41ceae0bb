"""Raw per-anchor heads for the RetinaNet and SSD-ResNet34 detectors: each cell fires its matching anchor and a
weaker duplicate that only NMS removes, at the anchor indices and regressions of MLPerf's decoders."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from onnx import TensorProto

from msb.synthetic.detection_layout import OPENIMAGES_CLASSES, Benchmark, cell_boxes
from msb.synthetic.onnx_graph import Graph


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


def head_outputs(g: Graph, benchmark: Benchmark, label: str, score: str) -> tuple[str, str]:
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
