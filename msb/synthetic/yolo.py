"""A tiny ONNX detector with YOLO11's exported signature that scores the synthetic COCO-safe set exactly.

The dataset is the grid board of msb/synthetic/detection.py in MLPerf's YOLO layout (`write_dataset(dir, "yolo",
...)`): the images are not square, so a letterbox puts them inside grey 114 padding. The detector finds the
image inside the letterbox (the pixels that are not exactly grey 114; no synthetic colour or blend of them is),
samples the centre of each of its GRID x GRID cells, decodes the colour into a class and a score and answers in
YOLO's raw layout (batch, 84, anchors): per anchor cx, cy, w, h in input pixels and 80 class scores. Each object
fires twice: at its cell and, 0.9 times as sure, moved by 5% of its width (IoU 0.905 > 0.7), a duplicate only
class-wise NMS removes. The other anchors are zero. The anchor count follows the input size (8400 at 640x640),
so with `dynamic=True` the model also takes minimal-padding inputs.

Run `python -m msb.synthetic.yolo OUTDIR` to write OUTDIR/dataset and OUTDIR/model.onnx.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from onnx import TensorProto, helper

from msb.synthetic.detection import write_dataset
from msb.synthetic.detection_layout import GRID
from msb.synthetic.onnx_graph import Graph, save_model

CLASSES = 80
PAD_LEVEL = 114.0
DUPLICATE_SHIFT = 0.05  # of the box width: IoU (1 - 0.05) / (1 + 0.05) = 0.905
DUPLICATE_SCORE = 0.9


def _content_extent(g: Graph) -> None:
    """top, bottom, left, right (N,) float: the first and last rows and columns that are not padding."""
    g.op("Mul", ["images", g.const("to_levels", np.array(255.0, np.float32))], "pixels")
    g.op("Abs", [g.op("Sub", ["pixels", g.const("pad_level", np.array(PAD_LEVEL, np.float32))], "off_pad")], "dist")
    g.op("Less", ["dist", g.const("half_level", np.array(0.5, np.float32))], "is_pad_b")
    g.op("Cast", ["is_pad_b"], "is_pad", to=TensorProto.FLOAT)
    g.op("ReduceMin", ["is_pad", g.const("channel", np.array([1], np.int64))], "pad_px", keepdims=0)  # (N, H, W)
    g.op("Sub", [g.const("one", np.array(1.0, np.float32)), "pad_px"], "content")
    g.op("ReduceMax", ["content", g.const("width_axis", np.array([2], np.int64))], "rows", keepdims=0)  # (N, H)
    g.op("ReduceMax", ["content", "channel"], "cols", keepdims=0)  # (N, W)
    for name, source, last in (("top", "rows", 0), ("bottom", "rows", 1), ("left", "cols", 0), ("right", "cols", 1)):
        g.op("ArgMax", [source], f"{name}_i", axis=1, keepdims=0, select_last_index=last)
        g.op("Cast", [f"{name}_i"], name, to=TensorProto.FLOAT)


def _cell_geometry(g: Graph) -> None:
    """Per cell (N, cells): centre cx, cy and size w, h in input pixels, and the integer pixel at the centre."""
    fractions = (np.arange(GRID, dtype=np.float32) + 0.5) / GRID
    rows = np.repeat(fractions, GRID)[None]  # row-major cells
    cols = np.tile(fractions, GRID)[None]
    one = "one"
    for axis, start, end, frac in (("y", "top", "bottom", rows), ("x", "left", "right", cols)):
        g.op("Add", [g.op("Sub", [end, start], f"{axis}_span0"), one], f"{axis}_span")  # pixels the image covers
        g.op("Unsqueeze", [f"{axis}_span", g.const(f"{axis}_col", np.array([1], np.int64))], f"{axis}_span_c")
        g.op("Unsqueeze", [start, f"{axis}_col"], f"{axis}_start_c")
        g.op("Mul", [f"{axis}_span_c", g.const(f"{axis}_frac", frac)], f"{axis}_offset")
        g.op("Add", [f"{axis}_start_c", f"{axis}_offset"], f"c{axis}")  # (N, cells)
        g.op("Cast", [g.op("Floor", [f"c{axis}"], f"c{axis}_floor")], f"c{axis}_i", to=TensorProto.INT64)
        cell = g.const(f"{axis}_cell", np.full((1, GRID * GRID), 1.0 / GRID, np.float32))
        g.op("Mul", [f"{axis}_span_c", cell], "h" if axis == "y" else "w")


def _decode_colours(g: Graph) -> None:
    """label (N, cells) int64 (-1 empty) and score (N, cells) from the colour at each cell's centre."""
    g.op("Transpose", ["pixels"], "nhwc", perm=[0, 2, 3, 1])
    g.op("Unsqueeze", ["cy_i", g.const("last", np.array([-1], np.int64))], "cy_c")
    g.op("Unsqueeze", ["cx_i", "last"], "cx_c")
    g.op("Concat", ["cy_c", "cx_c"], "centre_idx", axis=-1)  # (N, cells, 2)
    g.nodes.append(helper.make_node("GatherND", ["nhwc", "centre_idx"], ["colours"], batch_dims=1))
    g.nodes.append(helper.make_node("Split", ["colours"], ["red", "green", "blue"], axis=-1, num_outputs=3))
    fifteen = g.const("fifteen", np.array(15.0, np.float32))
    g.op("Round", [g.op("Div", ["red", fifteen], "red_steps")], "high")
    g.op("Round", [g.op("Div", ["green", fifteen], "green_steps")], "low")
    g.op("Add", [g.op("Mul", ["high", g.const("sixteen", np.array(16.0, np.float32))], "high16"), "low"], "code3")
    g.op("Squeeze", ["code3", "last"], "code")
    g.op("Cast", [g.op("Sub", ["code", "one"], "label_f")], "label", to=TensorProto.INT64)
    g.op("Greater", ["code", g.const("half", np.array(0.5, np.float32))], "is_obj")
    g.op("Cast", ["is_obj"], "present", to=TensorProto.FLOAT)
    g.op("Squeeze", ["blue", "last"], "blue_flat")
    g.op("Mul", [g.op("Div", ["blue_flat", "to_levels"], "intensity"), "present"], "score")


def _anchor_rows(g: Graph) -> None:
    """(N, 2·cells, 84): each cell's detection, then its weaker, shifted duplicate."""
    g.op("Equal", [g.op("Unsqueeze", ["label", "last"], "label_c"), g.const("classes", np.arange(CLASSES))], "hot_b")
    g.op("Cast", ["hot_b"], "hot", to=TensorProto.FLOAT)  # (N, cells, 80)
    g.op("Mul", ["w", g.const("dup_shift", np.array(DUPLICATE_SHIFT, np.float32))], "shift")
    g.op("Add", ["cx", "shift"], "cx_dup")
    g.op("Mul", ["score", g.const("dup_score", np.array(DUPLICATE_SCORE, np.float32))], "score_dup")
    rows = []
    for name, cx, score in (("main", "cx", "score"), ("dup", "cx_dup", "score_dup")):
        parts = [g.op("Unsqueeze", [part, "last"], f"{name}_{part}_c") for part in (cx, "cy", "w", "h")]
        g.op("Mul", ["hot", g.op("Unsqueeze", [score, "last"], f"{name}_score_c")], f"{name}_classes")
        rows.append(g.op("Concat", [*parts, f"{name}_classes"], f"{name}_rows", axis=-1))
    g.op("Concat", rows, "rows84", axis=1)


def _raw_output(g: Graph) -> None:
    """output0 (N, 84, anchors): the rows, then zero anchors up to the count of a YOLO head at this input size."""
    g.op("Transpose", ["rows84"], "cols84", perm=[0, 2, 1])
    g.op("Shape", ["images"], "in_shape")
    g.op("Gather", ["in_shape", g.const("hw_idx", np.array([2, 3], np.int64))], "hw")
    counts = []
    for stride in (8, 16, 32):
        g.op("Div", ["hw", g.const(f"stride{stride}", np.array([stride], np.int64))], f"grid{stride}")
        counts.append(g.op("ReduceProd", [f"grid{stride}"], f"cells{stride}", keepdims=1))
    g.op("Add", [g.op("Add", counts[:2], "anchors_p3p4"), counts[2]], "anchors")  # Sum takes no integers
    g.op("Sub", ["anchors", g.const("used", np.array([2 * GRID * GRID], np.int64))], "free")
    g.op("Slice", ["in_shape", g.const("b0", np.array([0], np.int64)), g.const("b1", np.array([1], np.int64))], "n")
    g.op("Concat", ["n", g.const("ch84", np.array([4 + CLASSES], np.int64)), "free"], "zeros_shape", axis=0)
    g.op("Expand", [g.const("zero", np.zeros((1, 1, 1), np.float32)), "zeros_shape"], "zeros")
    g.op("Concat", ["cols84", "zeros"], "output0", axis=2)


def write_model(path: Path, dynamic: bool = False, size: int = 640) -> Path:
    """The detector with YOLO11's exported signature: input `images` (N, 3, size, size), or (N, 3, H, W) when
    `dynamic`; output `output0` (N, 84, anchors)."""
    g = Graph()
    _content_extent(g)
    _cell_geometry(g)
    _decode_colours(g)
    _anchor_rows(g)
    _raw_output(g)
    height: str | int = "H" if dynamic else size
    width: str | int = "W" if dynamic else size
    graph = helper.make_graph(
        g.nodes,
        "synthetic_yolo",
        inputs=[helper.make_tensor_value_info("images", TensorProto.FLOAT, ["N", 3, height, width])],
        outputs=[helper.make_tensor_value_info("output0", TensorProto.FLOAT, ["N", 4 + CLASSES, "anchors"])],
        initializer=g.initializers,
    )
    return save_model(path, graph)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m msb.synthetic.yolo",
        description="Write a small COCO-safe layout dataset (OUTDIR/dataset) and a YOLO-signature detector that "
        "scores it exactly (OUTDIR/model.onnx).",
    )
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--count", type=int, default=16, help="images with objects (default 16)")
    parser.add_argument("--relabel", type=int, default=0, help="categories whose annotations name another one")
    parser.add_argument("--shift", type=int, default=0, help="categories whose boxes move (IoU 0.724)")
    parser.add_argument("--dynamic", action="store_true", help="dynamic input height and width (minimal padding)")
    args = parser.parse_args(argv)
    try:
        data = write_dataset(args.outdir / "dataset", "yolo", args.count, args.relabel, args.shift)
    except ValueError as error:
        parser.error(str(error))
    model = write_model(args.outdir / "model.onnx", dynamic=args.dynamic)
    print(f"dataset: {data.dataset_dir} ({data.images} images, {data.objects} objects)")
    print(f"model:   {model}")
    print(f"expected: mAP={data.expected_map:.3f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
