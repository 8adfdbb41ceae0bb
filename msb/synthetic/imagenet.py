"""A small ImageNet-layout dataset and a tiny ONNX classifier that scores it exactly.

Each image is filled with one palette colour (plus a small patch of another, so it is not trivially
flat) and its label follows from that dominant colour. The classifier has the MLPerf resnet50
signature: input `input_tensor:0` (N, 3, 224, 224) float32, outputs `ArgMax:0` (N,) int64 and
`softmax_tensor:0` (N, 1001) with background at 0. It averages the preprocessed image and picks the
nearest palette colour, which is linear in the mean (argmax_c 2·x·μ_c − |μ_c|²), so after MLPerf
preprocessing its top-1 is the image's class exactly and a run's accuracy is 100% (or exactly
(n − k)/n with k labels flipped in val_map.txt). Its INT8 model from `harness calibrate` (ONNX Runtime, 7-bit
weights per channel) keeps that exact accuracy on any x86 CPU; with 8-bit weights, a CPU without VNNI saturated the
int16 sums of the white and yellow images' products and read them as grey (harness/calibrate/ort_int8.py).

Run `python -m msb.synthetic.imagenet OUTDIR --count N` to write OUTDIR/dataset, OUTDIR/model.onnx and
OUTDIR/calibration_list.txt (two images of each class, for `build.py calibrate`).
"""

from __future__ import annotations

import argparse
import os
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

from msb.synthetic.onnx_graph import save_model

# Corners of the RGB cube plus mid grey: nearest neighbours are >= 110 levels apart in every case, far
# more than JPEG error plus the minority patch can move the image mean.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (0, 0, 0),
    (255, 0, 0),
    (0, 255, 0),
    (0, 0, 255),
    (255, 255, 0),
    (255, 0, 255),
    (0, 255, 255),
    (255, 255, 255),
    (128, 128, 128),
)
# Spread the palette over the 0..999 label range so label handling (offsets, dtype) is exercised.
LABEL_STRIDE = 111
MLPERF_MEANS = (123.68, 116.78, 103.94)
_NUM_OUTPUTS = 1001  # background + 1000 ImageNet classes, as MLPerf's resnet50_v1.onnx
# The logit of the classes no colour maps to: below every winning logit (|x|^2 - |x - mu|^2 > -2,000 for any image
# here) and within the range of the others (down to about -140,000), so INT8 quantisation of the logits keeps their
# order; -1e9 would stretch the logits' 8-bit range until every class looks alike.
_NO_CLASS_LOGIT = -1.0e5
# Image sizes cycle through these so both resize directions (portrait/landscape, up/down) are exercised.
_SIZES: tuple[tuple[int, int], ...] = ((64, 48), (48, 80), (300, 260), (96, 96))


@dataclass(frozen=True)
class SyntheticImageNet:
    """What `write_dataset` wrote: the dataset folder and the labels a perfect model finds."""

    dataset_dir: Path
    true_labels: tuple[int, ...]
    flipped: int


def label_of(colour_index: int) -> int:
    return colour_index * LABEL_STRIDE


def write_dataset(
    out_dir: Path, count: int, flip: int = 0, seed: int = 0, distinct: int | None = None
) -> SyntheticImageNet:
    """Write `count` JPEGs and val_map.txt into `out_dir`; the first `flip` labels are wrong on purpose.

    With `distinct`, only that many images are encoded and the rest are hard links to them (same class): a
    full-size 50,000-image set then costs seconds and a few hundred kilobytes, and the preprocessed-sample cache,
    keyed by content, holds `distinct` entries instead of 30 GB.
    """
    if count < 1 or not 0 <= flip <= count:
        raise ValueError(f"need count >= 1 and 0 <= flip <= count, got count={count}, flip={flip}")
    if distinct is not None and (distinct < 1 or distinct % len(PALETTE)):
        raise ValueError(f"distinct must be a positive multiple of {len(PALETTE)} (one per class), got {distinct}")
    rng = random.Random(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = []
    true_labels = []
    for index in range(count):
        colour = index % len(PALETTE)
        name = f"ILSVRC2012_val_{index + 1:08d}.JPEG"
        if distinct is not None and index >= distinct:
            # index % distinct has the same colour, since distinct is a multiple of the palette's length
            os.link(out_dir / f"ILSVRC2012_val_{index % distinct + 1:08d}.JPEG", out_dir / name)
        else:
            _write_image(out_dir / name, colour, _SIZES[index % len(_SIZES)], rng)
        label = label_of(colour)
        true_labels.append(label)
        written = label_of((colour + 1) % len(PALETTE)) if index < flip else label
        lines.append(f"{name} {written}\n")
    (out_dir / "val_map.txt").write_text("".join(lines))
    return SyntheticImageNet(dataset_dir=out_dir, true_labels=tuple(true_labels), flipped=flip)


def write_calibration_list(dataset_dir: Path, path: Path, per_class: int = 2) -> Path:
    """A calibration list of the dataset's first `per_class` images of each class (a custom list: MLPerf's names
    images of the real set that a small synthetic one lacks). The rest of the dataset stays for the accuracy gate."""
    chosen: list[str] = []
    seen: dict[int, int] = {}
    for line in (dataset_dir / "val_map.txt").read_text().splitlines():
        name, label = line.split()
        if seen.get(int(label), 0) < per_class:
            seen[int(label)] = seen.get(int(label), 0) + 1
            chosen.append(name)
    path.write_text("".join(f"{name}\n" for name in chosen))
    return path


def write_model(path: Path, work: int = 0) -> Path:
    """Write the nearest-palette-colour classifier (MLPerf resnet50 signature) to `path`.

    `work` adds that many 224x224 matrix products over each image (about 67 MFLOP per sample each) whose result is
    multiplied by zero into the logits: the answer is unchanged, but the model becomes compute-bound like a real
    ResNet50 rather than memory-bound, so repeating one sample (compliance TEST04) is not artificially faster.
    """
    centred = np.array(PALETTE, dtype=np.float32) - np.array(MLPERF_MEANS, dtype=np.float32)
    weights = np.zeros((3, _NUM_OUTPUTS), dtype=np.float32)
    bias = np.full((_NUM_OUTPUTS,), _NO_CLASS_LOGIT, dtype=np.float32)  # classes with no colour never win
    for colour, mean in enumerate(centred):
        column = label_of(colour) + 1  # index 0 is the background class
        weights[:, column] = 2.0 * mean
        bias[column] = -float(mean @ mean)
    nodes = [
        helper.make_node("GlobalAveragePool", ["input_tensor:0"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["features"], axis=1),
        helper.make_node("Gemm", ["features", "weights", "bias"], ["logits"]),
    ]
    initializers = [numpy_helper.from_array(weights, "weights"), numpy_helper.from_array(bias, "bias")]
    if work > 0:
        nodes += _work_nodes(work, initializers)
    nodes += [
        helper.make_node("Softmax", ["logits_out"], ["softmax_tensor:0"], axis=1),
        helper.make_node("ArgMax", ["logits_out"], ["ArgMax:0"], axis=1, keepdims=0),
    ]
    if work == 0:
        nodes.insert(3, helper.make_node("Identity", ["logits"], ["logits_out"]))
    graph = helper.make_graph(
        nodes,
        "synthetic_resnet50_signature",
        inputs=[helper.make_tensor_value_info("input_tensor:0", TensorProto.FLOAT, ["N", 3, 224, 224])],
        outputs=[
            helper.make_tensor_value_info("ArgMax:0", TensorProto.INT64, ["N"]),
            helper.make_tensor_value_info("softmax_tensor:0", TensorProto.FLOAT, ["N", _NUM_OUTPUTS]),
        ],
        initializer=initializers,
    )
    return save_model(path, graph, opset=13)


def _work_nodes(work: int, initializers: list[onnx.TensorProto]) -> list[onnx.NodeProto]:
    """Matrix products over the image, scaled to keep values bounded, added to the logits times zero."""
    rng = np.random.default_rng(0)
    mixing = (rng.standard_normal((224, 224)) / np.sqrt(224)).astype(np.float32)
    initializers += [
        numpy_helper.from_array(mixing, "work_mixing"),
        numpy_helper.from_array(np.array([-1, 3 * 224, 224], dtype=np.int64), "work_shape"),
        numpy_helper.from_array(np.zeros((1, 1), dtype=np.float32), "work_zero"),
    ]
    nodes = [helper.make_node("Reshape", ["input_tensor:0", "work_shape"], ["work_0"])]
    for step in range(work):
        nodes.append(helper.make_node("MatMul", [f"work_{step}", "work_mixing"], [f"work_{step + 1}"]))
    nodes += [
        helper.make_node("ReduceMean", [f"work_{work}"], ["work_mean"], axes=[1, 2], keepdims=0),
        helper.make_node("Unsqueeze", ["work_mean", "work_axes"], ["work_column"]),
        helper.make_node("Mul", ["work_column", "work_zero"], ["work_nothing"]),
        helper.make_node("Add", ["logits", "work_nothing"], ["logits_out"]),
    ]
    initializers.append(numpy_helper.from_array(np.array([1], dtype=np.int64), "work_axes"))
    return nodes


def _write_image(path: Path, colour: int, size: tuple[int, int], rng: random.Random) -> None:
    width, height = size
    pixels = np.empty((height, width, 3), dtype=np.uint8)
    pixels[:] = PALETTE[colour]
    other = PALETTE[(colour + rng.randrange(1, len(PALETTE))) % len(PALETTE)]
    # A patch of at most 1/4 x 1/4 of the image: moves the mean by far less than half a palette step.
    patch_w, patch_h = max(1, width // 4), max(1, height // 4)
    left, top = rng.randrange(0, width - patch_w + 1), rng.randrange(0, height - patch_h + 1)
    pixels[top : top + patch_h, left : left + patch_w] = other
    Image.fromarray(pixels).save(path, format="JPEG", quality=90)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m msb.synthetic.imagenet",
        description="Write a small ImageNet-layout dataset (OUTDIR/dataset) and a classifier that scores it "
        "exactly (OUTDIR/model.onnx).",
    )
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--count", type=int, default=64, help="number of images (default 64)")
    parser.add_argument("--flip", type=int, default=0, help="make the first K labels wrong: accuracy (N-K)/N")
    parser.add_argument(
        "--work", type=int, default=0, help="make the model compute-bound: K matrix products (~67 MFLOP/sample each)"
    )
    parser.add_argument(
        "--distinct", type=int, help="encode only K images (a multiple of 9); the rest are hard links to them"
    )
    args = parser.parse_args(argv)
    try:
        data = write_dataset(args.outdir / "dataset", args.count, flip=args.flip, distinct=args.distinct)
    except ValueError as error:
        parser.error(str(error))
    model = write_model(args.outdir / "model.onnx", work=args.work)
    calibration = write_calibration_list(data.dataset_dir, args.outdir / "calibration_list.txt")
    expected = 100.0 * (args.count - args.flip) / args.count
    print(f"dataset: {data.dataset_dir} ({args.count} images)")
    print(f"model:   {model}")
    print(f"calibration list: {calibration} (a custom list for build.py calibrate --calibration-list)")
    print(f"expected accuracy: {expected:.3f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
