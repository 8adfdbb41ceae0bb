"""Anchors, decoding, NMS, per-image limits, thresholds and accuracy-log records of the detection benchmarks."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from harness.benchmarks.detection.anchors import retinanet_anchors, ssd_r34_default_boxes
from harness.benchmarks.detection.boxes import batched_nms, decode_retinanet, nms
from harness.benchmarks.detection.imageops import resize_linear
from harness.benchmarks.detection.payload import pack, unpack
from harness.benchmarks.detection.postprocess import (
    RetinaNetHeadParams,
    SsdHeadParams,
    YoloParams,
    retinanet_from_heads,
    ssd_from_heads,
    yolo_from_raw,
)
from harness.benchmarks.retinanet import RetinaNet
from harness.benchmarks.ssd_resnet34 import SsdResNet34
from harness.benchmarks.yolo import Yolo
from msb.synthetic.detection import write_dataset


def test_retinanet_anchor_grid_matches_the_reference_model() -> None:
    anchors = retinanet_anchors(800)
    assert anchors.per_level == (90000, 22500, 5625, 1521, 441)  # 9 per location on 100, 50, 25, 13, 7
    assert len(anchors.boxes) == 120087
    # First location of P3: ratio-major (0.5, 1, 2) x sizes (32, 40, 50), rounded half to even.
    assert anchors.boxes[:3].tolist() == [[-23, -11, 23, 11], [-28, -14, 28, 14], [-35, -18, 35, 18]]
    assert anchors.boxes[4].tolist() == [-20, -20, 20, 20]
    # P6 (13x13) has stride 800 // 13 = 61: its second location is centred at x = 61.
    p6_second = anchors.boxes[90000 + 22500 + 5625 + 9 + 4]
    assert (p6_second[0] + p6_second[2]) / 2 == 61


def test_ssd_default_boxes_match_the_reference_model() -> None:
    boxes = ssd_r34_default_boxes(1200)
    assert boxes.per_level == (10000, 3750, 1014, 294, 36, 36)
    assert len(boxes.boxes) == 15130
    np.testing.assert_allclose(boxes.boxes[0], [0.01, 0.01, 0.07, 0.07], rtol=1e-6)
    np.testing.assert_allclose(boxes.boxes[1], [0.03, 0.01, 0.07, 0.07], rtol=1e-6)  # column before row
    assert boxes.boxes.min() >= 0 and boxes.boxes.max() <= 1


def test_retinanet_decoding_is_identity_at_zero_and_clamps_size() -> None:
    anchors = np.array([[0, 0, 10, 20]], dtype=np.float32)
    np.testing.assert_allclose(decode_retinanet(np.zeros((1, 4), np.float32), anchors), anchors)
    huge = decode_retinanet(np.array([[0, 0, 100, 0]], np.float32), anchors)
    assert huge[0, 2] - huge[0, 0] == pytest.approx(10 * 1000 / 16, rel=1e-5)


def test_nms_threshold_semantics() -> None:
    boxes = np.array([[0, 0, 2, 1], [0, 0, 1, 1]], dtype=np.float32)  # IoU exactly 0.5
    scores = np.array([0.9, 0.8], dtype=np.float32)
    assert nms(boxes, scores, 0.5).tolist() == [0, 1]  # torchvision: drop only IoU > 0.5
    assert nms(boxes, scores, 0.5, suppress_equal=True).tolist() == [0]  # SSD: keep only IoU < 0.5
    assert nms(boxes, scores[::-1].copy(), 0.4).tolist() == [1]


def test_batched_nms_never_suppresses_across_classes() -> None:
    boxes = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [0, 0, 1, 1]], dtype=np.float32)
    scores = np.array([0.5, 0.9, 0.7], dtype=np.float32)
    labels = np.array([3, 3, 4])
    assert batched_nms(boxes, scores, labels, 0.5).tolist() == [1, 2]


def _retinanet_logits(anchors: int, hot: np.ndarray, classes: int = 4) -> np.ndarray:
    logits = np.full((anchors, classes), -10.0, dtype=np.float32)
    logits[hot, 0] = np.linspace(5.0, 1.0, len(hot), dtype=np.float32)
    return logits


def test_retinanet_keeps_1000_candidates_per_level_then_300_per_image() -> None:
    anchors = retinanet_anchors(800)
    hot = np.concatenate([np.arange(1500), 90000 + np.arange(5)])  # 1500 on P3, 5 on P4
    logits = _retinanet_logits(len(anchors.boxes), hot)
    regression = np.zeros((len(anchors.boxes), 4), dtype=np.float32)
    no_nms = RetinaNetHeadParams(nms_iou=1.0, max_detections=10_000)
    assert len(retinanet_from_heads(logits, regression, anchors, 800, no_nms).scores) == 1005
    found = retinanet_from_heads(logits, regression, anchors, 800, RetinaNetHeadParams(nms_iou=1.0))
    assert len(found.scores) == 300
    assert np.all(np.diff(found.scores) <= 0)
    assert found.boxes.max() <= 1.0 and found.boxes.min() >= 0.0  # clipped to the image, then normalised


def test_retinanet_score_threshold_is_strict() -> None:
    anchors = retinanet_anchors(800)
    logits = np.full((len(anchors.boxes), 2), -10.0, dtype=np.float32)
    logits[0, 1] = math.log(0.05 / 0.95)  # sigmoid = 0.05: not above the threshold
    logits[9, 1] = math.log(0.06 / 0.94)
    found = retinanet_from_heads(
        logits, np.zeros((len(anchors.boxes), 4), np.float32), anchors, 800, RetinaNetHeadParams()
    )
    assert found.labels.tolist() == [1]
    assert found.scores[0] == pytest.approx(0.06, rel=1e-5)


def test_ssd_keeps_200_detections_per_image() -> None:
    boxes = ssd_r34_default_boxes(1200)
    confidences = np.zeros((81, len(boxes.boxes)), dtype=np.float32)
    confidences[0] = 10.0  # background everywhere ...
    confidences[0, :300] = 0.0  # ... except 300 boxes of level 0 whose best class is 5 or 6
    confidences[5, :150] = 8.0
    confidences[6, 150:300] = 8.0
    locations = np.zeros((4, len(boxes.boxes)), dtype=np.float32)
    found = ssd_from_heads(locations, confidences, boxes, SsdHeadParams(nms_iou=1.01))
    assert len(found.scores) == 200  # 150 + 150 candidates, capped per image
    assert set(found.labels.tolist()) == {5, 6}
    capped = ssd_from_heads(locations, confidences, boxes, SsdHeadParams(nms_iou=1.01, max_candidates_per_class=100))
    assert len(capped.scores) == 200 and np.bincount(capped.labels).tolist()[5:] == [100, 100]


def test_records_are_index_ymin_xmin_ymax_xmax_score_label() -> None:
    benchmark = RetinaNet()
    boxes = np.array([[[80, 160, 400, 800], [0, 0, 8, 8]]], dtype=np.float32)  # x1, y1, x2, y2 pixels
    payload = benchmark.postprocess([boxes, np.array([[263, 5]]), np.array([[0.9, 0.04]], np.float32)], [7])
    rows = unpack(payload[0])
    np.testing.assert_allclose(rows, [[7, 0.2, 0.1, 1.0, 0.5, 0.9, 263]], rtol=1e-6)  # 0.04 < 0.05: dropped


def test_unbatched_retinanet_outputs_need_batch_size_one() -> None:
    benchmark = RetinaNet()
    boxes, labels, scores = np.zeros((3, 4), np.float32), np.zeros(3, np.int64), np.ones(3, np.float32)
    assert len(unpack(benchmark.postprocess([boxes, labels, scores], [0])[0])) == 3
    with pytest.raises(ValueError, match="run with batch size 1"):
        benchmark.postprocess([boxes, labels, scores], [0, 1])


def test_ssd_threshold_is_the_pytorch_references_unless_asked() -> None:
    bboxes = np.array([[[0.1, 0.2, 0.3, 0.4], [0, 0, 1, 1], [0, 0, 0.5, 0.5]]], dtype=np.float32)  # l, t, r, b
    labels, scores = np.array([[3, 4, 5]]), np.array([[0.5, 0.05, 0.049]], np.float32)
    rows = unpack(SsdResNet34().postprocess([bboxes, labels, scores], [2])[0])
    np.testing.assert_allclose(rows, [[2, 0.2, 0.1, 0.4, 0.3, 0.5, 3], [2, 0, 0, 1, 1, 0.05, 4]])  # 0.049 dropped
    onnx_profile = SsdResNet34(score_threshold=0.5)  # PostProcessCocoOnnx
    assert unpack(onnx_profile.postprocess([bboxes, labels, scores], [2])[0])[:, 6].tolist() == [3]
    with pytest.raises(ValueError, match=r"score_threshold=1\.5"):
        SsdResNet34(score_threshold=1.5)


def test_outputs_of_another_model_are_named_in_the_error() -> None:
    logits = np.zeros((1, 1000, 264), np.float32)
    with pytest.raises(ValueError, match=r"'cls_logits' has shape \(1, 1000, 264\), expected \(1, 120087, 264\)"):
        RetinaNet("heads").postprocess([logits, np.zeros((1, 1000, 4), np.float32)], [0])
    with pytest.raises(ValueError, match="outputs='boxes'"):
        SsdResNet34("boxes")  # type: ignore[arg-type]


def test_linear_resize_follows_opencv_half_pixel_rule() -> None:
    row = np.array([[[0.0], [100.0]]], dtype=np.float32)  # 1x2, one channel
    assert resize_linear(row, 1, 4)[0, :, 0].tolist() == [0.0, 25.0, 75.0, 100.0]
    assert resize_linear(np.arange(8, dtype=np.float32).reshape(1, 8, 1), 1, 4)[0, :, 0].tolist() == [
        0.5,
        2.5,
        4.5,
        6.5,
    ]  # shrinking averages neighbours, no wider low-pass


def test_linear_resize_equals_opencv() -> None:
    cv2 = pytest.importorskip("cv2")
    cv2.ipp.setUseIPP(False)  # OpenCV's own code; its IPP route rounds differently (about 5e-5 relative)
    rng = np.random.default_rng(0)
    for height, width, size in ((60, 80, 800), (1024, 683, 800), (480, 640, 1200)):
        image = rng.integers(0, 256, (height, width, 3)).astype(np.float32)
        expected = cv2.resize(image, (size, size), interpolation=cv2.INTER_LINEAR)
        np.testing.assert_allclose(resize_linear(image, size, size), expected, atol=1e-3)


def test_preprocessing_scales_and_normalises(tmp_path: Path) -> None:
    from PIL import Image

    from harness.benchmarks.base import Sample

    Image.new("RGB", (30, 20), (255, 128, 0)).save(tmp_path / "a.png")
    sample = Sample(index=0, path=tmp_path / "a.png", key="a.png")
    retina = RetinaNet().preprocess(sample)
    assert retina.shape == (3, 800, 800) and retina.dtype == np.float32
    np.testing.assert_allclose(retina[:, 400, 400], [1.0, 128 / 255, 0.0], rtol=1e-6)
    ssd = SsdResNet34().preprocess(sample)
    assert ssd.shape == (3, 1200, 1200)
    expected = (np.array([1.0, 128 / 255, 0.0]) - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]
    np.testing.assert_allclose(ssd[:, 7, 1100], expected, rtol=1e-5)
    assert pack(0, RetinaNet().detections([np.zeros((1, 0, 4)), np.zeros((1, 0)), np.zeros((1, 0))], 1)[0]) == b""


def test_images_are_read_as_opencv_reads_them(tmp_path: Path) -> None:
    """EXIF orientation applied, grayscale to three channels (cv2.imread's colour mode)."""
    from PIL import Image

    from harness.benchmarks.detection.imageops import read_rgb

    image = Image.new("RGB", (40, 20), (200, 10, 10))
    image.paste((10, 200, 10), (0, 0, 10, 20))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    image.save(tmp_path / "rotated.jpg", exif=exif.tobytes(), quality=95)
    Image.new("L", (5, 4), 77).save(tmp_path / "gray.png")
    rotated = read_rgb(tmp_path / "rotated.jpg")
    assert rotated.shape == (40, 20, 3)
    assert rotated[2, 10, 1] > 150  # the green strip on the left is now on top
    assert read_rgb(tmp_path / "gray.png").tolist()[0][0] == [77.0, 77.0, 77.0]
    cv2 = pytest.importorskip("cv2")
    np.testing.assert_array_equal(rotated, cv2.imread(str(tmp_path / "rotated.jpg"))[..., ::-1])


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
