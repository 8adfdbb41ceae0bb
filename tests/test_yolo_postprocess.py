"""YOLO decode and NMS at Ultralytics' predict defaults (conf 0.001, class-wise NMS at IoU 0.7, 300 detections,
best class per anchor) and the accuracy-log records (7 float32, original-image proportions, COCO-91 classes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.benchmarks.detection.payload import unpack
from harness.benchmarks.detection.postprocess import YoloParams, yolo_from_raw
from harness.benchmarks.yolo import Yolo
from msb.synthetic.detection import write_dataset


def raw_of(rows: list[tuple[float, float, float, float, int, float]], anchors: int = 8400) -> np.ndarray:
    """(84, anchors) with one anchor per row (cx, cy, w, h, class, score); the rest zero."""
    raw = np.zeros((84, anchors), np.float32)
    for anchor, (cx, cy, w, h, label, score) in enumerate(rows):
        raw[:4, anchor] = cx, cy, w, h
        raw[4 + label, anchor] = score
    return raw


def test_candidates_score_strictly_above_0_001() -> None:
    raw = raw_of([(100, 100, 20, 20, 3, 0.001), (300, 300, 20, 20, 3, 0.0011)])
    boxes, scores, labels = yolo_from_raw(raw, YoloParams())
    assert scores.tolist() == [pytest.approx(0.0011)] and labels.tolist() == [3]
    assert boxes.tolist() == [[290.0, 290.0, 310.0, 310.0]]  # cx, cy, w, h -> x1, y1, x2, y2


def test_each_anchor_keeps_its_best_class_only() -> None:
    raw = raw_of([(100, 100, 20, 20, 5, 0.6)])
    raw[4 + 7, 0] = 0.5  # a second class on the same anchor is not a detection (multi_label off)
    _, scores, labels = yolo_from_raw(raw, YoloParams())
    assert labels.tolist() == [5] and scores.tolist() == [pytest.approx(0.6)]


def test_nms_drops_iou_above_0_7_within_a_class_only() -> None:
    # Width 100 shifted by 15: IoU 85 / 115 = 0.739. A 100x70 box inside a 100x100 one: IoU 0.7 exactly.
    raw = raw_of(
        [
            (100, 100, 100, 100, 0, 0.9),
            (115, 100, 100, 100, 0, 0.8),  # IoU 0.739 with the first: suppressed
            (115, 100, 100, 100, 1, 0.7),  # the same box in another class: kept
            (100, 400, 100, 100, 0, 0.9),
            (100, 385, 100, 70, 0, 0.6),  # IoU 0.7 exactly: kept (torchvision keeps IoU <= threshold)
        ]
    )
    boxes, scores, labels = yolo_from_raw(raw, YoloParams())
    assert list(zip(labels.tolist(), np.round(scores.astype(float), 3).tolist(), strict=True)) == [
        (0, 0.9),
        (0, 0.9),
        (1, 0.7),
        (0, 0.6),
    ]
    assert boxes[3].tolist() == [50.0, 350.0, 150.0, 420.0]


def test_at_most_300_detections_best_first() -> None:
    rows = [(10 + 30 * (i % 20), 10 + 30 * (i // 20), 8, 8, 2, 0.01 + i / 1000) for i in range(400)]
    _, scores, _ = yolo_from_raw(raw_of(rows), YoloParams())
    assert len(scores) == 300 and np.all(np.diff(scores) <= 0)
    assert scores[-1] == pytest.approx(0.01 + 100 / 1000)


def test_records_are_original_proportions_with_coco_91_classes(tmp_path: Path) -> None:
    data = write_dataset(tmp_path, "yolo", 10)
    benchmark = Yolo("yolo-99")
    benchmark.list_samples(data.dataset_dir, None)
    box = benchmark.geometry(0)  # the first synthetic image is 80 wide, 60 tall: 640x480 inside 640x640, top 80
    assert (box.width, box.height, box.top) == (80, 60, 80)
    raw = raw_of([(320, 80 + 240, 160, 120, 79, 0.75), (40, 100, 16, 16, 11, 0.5)])[None]
    payload = benchmark.postprocess([raw], [0])[0]
    rows = unpack(payload)
    assert rows.dtype == np.float32 and rows.shape == (2, 7)
    # box (240, 260)-(400, 380) in input pixels is (30, 22.5)-(50, 37.5) in the 80x60 image
    assert rows[0].tolist() == pytest.approx([0, 22.5 / 60, 30 / 80, 37.5 / 60, 50 / 80, 0.75, 90])
    assert rows[1, 6] == 13  # class 11 (stop sign) is COCO category 13


def test_output_of_another_layout_is_refused(tmp_path: Path) -> None:
    data = write_dataset(tmp_path, "yolo", 10)
    benchmark = Yolo("yolo-95")
    benchmark.list_samples(data.dataset_dir, None)
    with pytest.raises(ValueError, match=r"'output0' has shape \(1, 85, 8400\), expected \(1, 84, 8400\)"):
        benchmark.postprocess([np.zeros((1, 85, 8400), np.float32)], [0])
    with pytest.raises(ValueError, match=r"expected \(1, 84, 8400\)"):
        benchmark.postprocess([np.zeros((1, 84, 6300), np.float32)], [0])
