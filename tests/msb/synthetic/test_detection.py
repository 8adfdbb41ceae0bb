"""The synthetic detection sets and detectors: MLPerf's file layouts and model signatures, small files, and
raw-head targets that sit on the benchmarks' own anchors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest

from harness.benchmarks.detection.anchors import retinanet_anchors, ssd_r34_default_boxes
from harness.benchmarks.detection.boxes import decode_retinanet, decode_ssd
from msb.synthetic import detection_heads, detection_layout
from msb.synthetic.detection import main, write_dataset
from msb.synthetic.detection_layout import cell_boxes
from msb.synthetic.detection_model import write_model


def test_openimages_layout(tmp_path: Path) -> None:
    data = write_dataset(tmp_path, "retinanet", 12, empty_images=2)
    annotations = json.loads((tmp_path / "annotations/openimages-mlperf.json").read_text())
    assert [c["id"] for c in annotations["categories"]] == list(range(264))
    assert len(annotations["images"]) == data.images == 14
    assert len(annotations["annotations"]) == data.objects
    used = {a["category_id"] for a in annotations["annotations"]}
    assert used == set(detection_layout.LAYOUTS["retinanet"].labels)  # every synthetic category, including 0 and 263
    files = list((tmp_path / "validation/data").iterdir())
    assert len(files) == 14 and max(f.stat().st_size for f in files) < 2000  # small on disk


def test_coco_layout_uses_coco_category_ids(tmp_path: Path) -> None:
    write_dataset(tmp_path, "ssd-resnet34", 10)
    annotations = json.loads((tmp_path / "annotations/instances_val2017.json").read_text())
    ids = [c["id"] for c in annotations["categories"]]
    assert len(ids) == 80 and ids[:12] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13] and ids[-1] == 90
    label_of = {cid: index + 1 for index, cid in enumerate(ids)}  # accuracy-coco.py's inverse map
    used = {label_of[a["category_id"]] for a in annotations["annotations"]}
    assert used == set(detection_layout.LAYOUTS["ssd-resnet34"].labels)
    for annotation in annotations["annotations"]:
        _x, _y, w, h = annotation["bbox"]
        assert w > 0 and h > 0 and annotation["area"] == w * h


def test_bad_requests_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="count must be at least 10"):
        write_dataset(tmp_path, "retinanet", 5)
    with pytest.raises(ValueError, match="relabel \\+ shift"):
        write_dataset(tmp_path, "retinanet", 10, relabel=6, shift=5)


@pytest.mark.parametrize(
    ("name", "input_name", "size", "outputs"),
    [
        ("retinanet", "images", 800, ["boxes", "labels", "scores"]),
        ("ssd-resnet34", "image", 1200, ["bboxes", "labels", "scores"]),
    ],
)
def test_detectors_have_mlperf_signatures(
    tmp_path: Path, name: str, input_name: str, size: int, outputs: list[str]
) -> None:
    model = onnx.load(str(write_model(tmp_path / "m.onnx", name)))
    (graph_input,) = model.graph.input
    dims = [d.dim_value or d.dim_param for d in graph_input.type.tensor_type.shape.dim]
    assert graph_input.name == input_name and dims == ["N", 3, size, size]
    assert [o.name for o in model.graph.output] == outputs
    assert (tmp_path / "m.onnx").stat().st_size < 10_000


def test_retinanet_head_targets_decode_to_the_cells_on_the_benchmark_anchors() -> None:
    targets = detection_heads.retinanet_head_targets()
    anchors = retinanet_anchors(800)
    assert targets.anchors == len(anchors.boxes)
    decoded = decode_retinanet(targets.regression, anchors.boxes[targets.indices])
    cells = len(cell_boxes(1))
    np.testing.assert_allclose(decoded[:cells], cell_boxes(800), atol=1e-3)
    shifted = cell_boxes(800) + np.array([10, 0, 10, 0])  # the duplicates: 0.0125 of the width to the right
    np.testing.assert_allclose(decoded[cells:], shifted, atol=1e-3)


def test_ssd_head_targets_decode_to_the_cells_on_the_benchmark_default_boxes() -> None:
    targets = detection_heads.ssd_head_targets()
    boxes = ssd_r34_default_boxes(1200)
    assert targets.anchors == len(boxes.boxes)
    decoded = decode_ssd(targets.regression, boxes.boxes[targets.indices])
    cells = len(cell_boxes(1))
    np.testing.assert_allclose(decoded[:cells], cell_boxes(1.0), atol=1e-6)
    assert len(set(targets.indices.tolist())) == 2 * cells


def test_command_line_writes_dataset_and_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path), "--benchmark", "ssd-resnet34", "--count", "10", "--relabel", "1", "--shift", "1"]) == 0
    assert (tmp_path / "model.onnx").is_file()
    assert (tmp_path / "dataset/annotations/instances_val2017.json").is_file()
    assert "expected: mAP=85.000%" in capsys.readouterr().out
