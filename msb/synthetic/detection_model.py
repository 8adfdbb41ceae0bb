"""Tiny ONNX detectors with MLPerf's RetinaNet and SSD-ResNet34 signatures that score the synthetic board exactly.

The detector undoes the benchmark's normalisation, samples every cell's centre, decodes the colour's code into a
label and a score and emits one detection per cell at the cell's box (or, with raw heads, fires the anchor matching
each cell plus a weaker duplicate, msb/synthetic/detection_heads.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
from onnx import TensorProto, helper

from msb.synthetic.detection_heads import head_outputs
from msb.synthetic.detection_layout import GRID, LAYOUTS, OPENIMAGES_CLASSES, Benchmark, BenchmarkLayout, cell_boxes
from msb.synthetic.onnx_graph import Graph, save_model


def _decode_cells(g: Graph, layout: BenchmarkLayout) -> tuple[str, str]:
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


def _final_outputs(g: Graph, layout: BenchmarkLayout, label: str, score: str) -> None:
    boxes = cell_boxes(layout.input_size if layout.pixel_boxes else 1.0).astype(np.float32)[None]
    g.op("Unsqueeze", [score, g.const("last_axis", np.array([-1], dtype=np.int64))], "score_col")
    g.op("Mul", ["score_col", g.const("zero", np.array(0.0, dtype=np.float32))], "zeros_col")
    g.op("Add", ["zeros_col", g.const("cell_boxes", boxes)], layout.output_names[0])  # (N, cells, 4)
    g.op("Cast", [label], layout.output_names[1], to=TensorProto.INT64)
    g.op("Identity", [score], layout.output_names[2])


def write_model(path: Path, benchmark: Benchmark, outputs: Literal["detections", "heads"] = "detections") -> Path:
    """Write the detector for `benchmark`: MLPerf's final-detection signature, or raw per-anchor heads."""
    if benchmark == "yolo":
        raise ValueError("the YOLO detector letterboxes; write it with msb.synthetic.yolo.write_model")
    layout = LAYOUTS[benchmark]
    g = Graph()
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
        first, second = head_outputs(g, benchmark, label, score)
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
    return save_model(path, graph)
