"""From model outputs to one image's detections, for final-detection and raw-head models.

Final-detection models are MLPerf's published ONNX files: RetinaNet's resnext50_32x4d_fpn.onnx returns
boxes (x1, y1, x2, y2) in 800x800 input pixels, labels and scores; SSD-ResNet34's resnet34-ssd1200.onnx
returns normalised (left, top, right, bottom) bboxes, labels and scores. Raw-head models return per-anchor
class logits and box regressions; they are decoded here exactly as the reference models do internally.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.benchmarks.detection.anchors import AnchorSet
from harness.benchmarks.detection.boxes import (
    batched_nms,
    clip_boxes,
    decode_retinanet,
    decode_ssd,
    nms,
    offset_nms,
    xywh_to_xyxy,
)


@dataclass(frozen=True)
class Detections:
    """One image's detections: boxes normalised to [0, 1] as (xmin, ymin, xmax, ymax)."""

    boxes: np.ndarray  # (n, 4) float32
    scores: np.ndarray  # (n,) float32
    labels: np.ndarray  # (n,) int64, the model's class numbering

    def above(self, threshold: float) -> Detections:
        """Those scoring at least `threshold`.

        The reference stops at the first score below the threshold in the model's (score-sorted) order; a
        filter gives the same set for sorted outputs and does not depend on the order.
        """
        keep = self.scores >= threshold
        return Detections(self.boxes[keep], self.scores[keep], self.labels[keep])


@dataclass(frozen=True)
class RetinaNetHeadParams:
    """RetinaNet's detection parameters (training repo's RetinaNet defaults, used by MLPerf's model)."""

    score_threshold: float = 0.05
    nms_iou: float = 0.5
    topk_candidates: int = 1000  # per FPN level, before NMS
    max_detections: int = 300  # per image, after NMS


@dataclass(frozen=True)
class SsdHeadParams:
    """SSD-ResNet34's decode_batch(locs, confs, 0.50, 200) with decode_single's fixed 0.05 and max_num=200."""

    score_threshold: float = 0.05
    nms_iou: float = 0.5
    max_candidates_per_class: int = 200
    max_detections: int = 200


@dataclass(frozen=True)
class YoloParams:
    """Ultralytics' predict defaults as MLPerf's YOLO reference uses them (conf=0.001 set by the reference)."""

    conf: float = 0.001  # candidates score strictly above it
    iou: float = 0.7  # torchvision NMS: drop IoU > iou
    max_det: int = 300
    max_nms: int = 30000  # candidates kept (best first) before NMS
    max_wh: float = 7680.0  # per-class box offset of the class-wise NMS


def sigmoid(x: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-x.astype(np.float32)))).astype(np.float32)


def softmax(x: np.ndarray, axis: int) -> np.ndarray:
    shifted = np.exp(x - x.max(axis=axis, keepdims=True))
    return (shifted / shifted.sum(axis=axis, keepdims=True)).astype(np.float32)


def retinanet_from_heads(
    cls_logits: np.ndarray,
    bbox_regression: np.ndarray,
    anchors: AnchorSet,
    image_size: int,
    params: RetinaNetHeadParams,
) -> Detections:
    """One image: cls_logits (A, K), bbox_regression (A, 4) -> detections (labels 0..K-1)."""
    num_classes = cls_logits.shape[1]
    boxes, scores, labels = [], [], []
    start = 0
    for count in anchors.per_level:
        level_scores = sigmoid(cls_logits[start : start + count]).ravel()
        candidates = np.flatnonzero(level_scores > params.score_threshold)
        top = np.argsort(-level_scores[candidates], kind="stable")[: params.topk_candidates]
        candidates = candidates[top]
        anchor_idx = candidates // num_classes + start
        decoded = decode_retinanet(bbox_regression[anchor_idx], anchors.boxes[anchor_idx])
        boxes.append(clip_boxes(decoded, image_size, image_size))
        scores.append(level_scores[candidates])
        labels.append(candidates % num_classes)
        start += count
    all_boxes, all_scores, all_labels = np.concatenate(boxes), np.concatenate(scores), np.concatenate(labels)
    keep = batched_nms(all_boxes, all_scores, all_labels, params.nms_iou)[: params.max_detections]
    return Detections(all_boxes[keep] / np.float32(image_size), all_scores[keep], all_labels[keep].astype(np.int64))


def ssd_from_heads(
    locations: np.ndarray, confidences: np.ndarray, default_boxes: AnchorSet, params: SsdHeadParams
) -> Detections:
    """One image: locations (4, B), confidence logits (C, B), background 0 -> detections labelled 1..C-1."""
    boxes = decode_ssd(locations.T.astype(np.float32), default_boxes.boxes)
    probabilities = softmax(confidences.T.astype(np.float32), axis=1)
    out_boxes, out_scores, out_labels = [], [], []
    for label in range(1, probabilities.shape[1]):  # 0 is background
        score = probabilities[:, label]
        candidates = np.flatnonzero(score > params.score_threshold)
        if candidates.size == 0:
            continue
        top = np.argsort(-score[candidates], kind="stable")[: params.max_candidates_per_class]
        candidates = candidates[top]
        kept = candidates[nms(boxes[candidates], score[candidates], params.nms_iou, suppress_equal=True)]
        out_boxes.append(boxes[kept])
        out_scores.append(score[kept])
        out_labels.append(np.full(kept.size, label, dtype=np.int64))
    if not out_boxes:
        return empty_detections()
    all_scores = np.concatenate(out_scores)
    order = np.argsort(-all_scores, kind="stable")[: params.max_detections]
    return Detections(np.concatenate(out_boxes)[order], all_scores[order], np.concatenate(out_labels)[order])


def from_pixel_xyxy(boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray, height: int, width: int) -> Detections:
    """RetinaNet's final outputs (boxes in input pixels) as normalised detections."""
    scale = np.array([width, height, width, height], dtype=np.float32)
    return Detections(
        boxes.reshape(-1, 4).astype(np.float32) / scale,
        scores.reshape(-1).astype(np.float32),
        labels.reshape(-1).astype(np.int64),
    )


def from_normalised_ltrb(boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray) -> Detections:
    """SSD-ResNet34's final outputs (normalised left, top, right, bottom)."""
    return Detections(
        boxes.reshape(-1, 4).astype(np.float32),
        scores.reshape(-1).astype(np.float32),
        labels.reshape(-1).astype(np.int64),
    )


def empty_detections() -> Detections:
    return Detections(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))


def yolo_from_raw(raw: np.ndarray, params: YoloParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One image's raw YOLO output (4 + classes, anchors) -> boxes (x1, y1, x2, y2 input pixels), scores, labels.

    Ultralytics' non_max_suppression with multi_label off: each anchor keeps its best class only, candidates
    score above `conf`, at most `max_nms` of them (best first), class-wise NMS, then the best `max_det`.
    """
    per_anchor = raw.T.astype(np.float32)  # (anchors, 4 + classes)
    class_scores = per_anchor[:, 4:]
    labels = class_scores.argmax(axis=1)
    scores = class_scores[np.arange(len(labels)), labels]
    candidates = np.flatnonzero(scores > params.conf)
    candidates = candidates[np.argsort(-scores[candidates], kind="stable")[: params.max_nms]]
    boxes = xywh_to_xyxy(per_anchor[candidates, :4])
    keep = offset_nms(boxes, scores[candidates], labels[candidates], params.iou, params.max_wh)[: params.max_det]
    return boxes[keep], scores[candidates][keep], labels[candidates][keep].astype(np.int64)
