"""Device-side detection postprocessing (run here on the CPU) against the harness's NumPy reference path."""

from __future__ import annotations

import numpy as np
import torch

from harness.backends.pytorch import postprocess
from harness.benchmarks.detection.anchors import retinanet_anchors, ssd_r34_default_boxes
from harness.benchmarks.detection.boxes import nms
from harness.benchmarks.detection.postprocess import (
    RetinaNetHeadParams,
    SsdHeadParams,
    retinanet_from_heads,
    ssd_from_heads,
)


def test_fixed_point_nms_equals_sequential_greedy_nms() -> None:
    rng = np.random.default_rng(1)
    for _ in range(5):
        corners = rng.uniform(0, 50, (60, 2)).astype(np.float32)
        boxes = np.concatenate([corners, corners + rng.uniform(5, 30, (60, 2)).astype(np.float32)], 1)
        scores = rng.uniform(0, 1, 60).astype(np.float32)
        order = np.argsort(-scores, kind="stable")
        sorted_boxes = torch.from_numpy(boxes[order])
        keep = postprocess.greedy_keep(postprocess.pairwise_iou(sorted_boxes) > 0.5)
        assert sorted(order[keep.numpy()]) == sorted(nms(boxes, scores, 0.5))


def test_retinanet_detections_match_the_host_reference_path() -> None:
    rng = np.random.default_rng(0)
    anchors = retinanet_anchors(128)
    logits = rng.normal(-2.5, 1.5, (2, len(anchors.boxes), 264)).astype(np.float32)
    regression = rng.normal(0, 0.3, (2, len(anchors.boxes), 4)).astype(np.float32)
    boxes, labels, scores = postprocess.retinanet_detections(
        torch.from_numpy(logits), torch.from_numpy(regression), torch.from_numpy(anchors.boxes), anchors.per_level, 128
    )
    assert boxes.shape == (2, 300, 4) and labels.shape == (2, 300) and scores.shape == (2, 300)
    for image in range(2):
        reference = retinanet_from_heads(logits[image], regression[image], anchors, 128, RetinaNetHeadParams())
        kept = int((scores[image] > 0).sum())
        assert kept == len(reference.scores)
        np.testing.assert_allclose(scores[image, :kept].numpy(), reference.scores, atol=1e-6)
        np.testing.assert_allclose(boxes[image, :kept].numpy() / 128, reference.boxes, atol=1e-5)
        np.testing.assert_array_equal(labels[image, :kept].numpy(), reference.labels)


def test_ssd_detections_match_the_host_reference_path_and_pad_with_zero_scores() -> None:
    rng = np.random.default_rng(0)
    defaults = ssd_r34_default_boxes(1200)
    locs = rng.normal(0, 1, (2, 4, len(defaults.boxes))).astype(np.float32)
    confs = rng.normal(0, 3, (2, 81, len(defaults.boxes))).astype(np.float32)
    confs[1] = -10.0  # second image: nothing above 0.05 but the background
    confs[1, 0] = 10.0
    boxes, labels, scores = postprocess.ssd_detections(
        torch.from_numpy(locs), torch.from_numpy(confs), torch.from_numpy(defaults.boxes)
    )
    reference = ssd_from_heads(locs[0], confs[0], defaults, SsdHeadParams())
    kept = int((scores[0] > 0).sum())
    assert kept == len(reference.scores) == 200
    # Scores equal to float precision may come in either order: compare the sets of detections.
    mine = _rows(scores[0, :kept].numpy(), labels[0, :kept].numpy(), boxes[0, :kept].numpy())
    np.testing.assert_allclose(mine, _rows(reference.scores, reference.labels, reference.boxes), atol=1e-5)
    assert float(scores[1].abs().sum()) == 0.0 and boxes.shape == (2, 200, 4)


def _rows(scores: np.ndarray, labels: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Detections as rows (score, label, box) in a canonical order."""
    rows = np.column_stack([np.round(scores, 5), labels, boxes]).astype(np.float64)
    return rows[np.lexsort(rows.T[::-1])]
