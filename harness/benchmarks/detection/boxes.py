"""Box decoding and non-maximum suppression, in NumPy, as the MLPerf reference models do them.

RetinaNet decodes with torchvision's BoxCoder (weights 1, 1, 1, 1; dw, dh clamped at log(1000/16)) and
suppresses with torchvision's NMS (drop IoU > threshold). SSD-ResNet34 scales its regressions by 0.1 (centre)
and 0.2 (size) against its default boxes and suppresses with its own loop (drop IoU >= threshold). YOLO (Ultralytics)
shifts each box by class · 7680 pixels in float32 and runs one torchvision NMS (see `offset_nms`).
ssd_r34.py's calc_iou_tensor means to clamp negative overlaps to 0 but its masked_fill_ acts on a copy, so
boxes far apart diagonally can get an IoU >= 0.5 there; here overlaps are clamped, as the NonMaxSuppression of
the exported ONNX model does.
"""

from __future__ import annotations

import math

import numpy as np

RETINANET_BBOX_XFORM_CLIP = math.log(1000.0 / 16)
SSD_SCALE_XY = 0.1
SSD_SCALE_WH = 0.2


def decode_retinanet(regression: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """(dx, dy, dw, dh) per anchor -> (x1, y1, x2, y2) in the anchors' pixels."""
    widths = anchors[:, 2] - anchors[:, 0]
    heights = anchors[:, 3] - anchors[:, 1]
    ctr_x = anchors[:, 0] + 0.5 * widths
    ctr_y = anchors[:, 1] + 0.5 * heights
    dw = np.minimum(regression[:, 2], RETINANET_BBOX_XFORM_CLIP)
    dh = np.minimum(regression[:, 3], RETINANET_BBOX_XFORM_CLIP)
    pred_ctr_x = regression[:, 0] * widths + ctr_x
    pred_ctr_y = regression[:, 1] * heights + ctr_y
    half_w = 0.5 * np.exp(dw) * widths
    half_h = 0.5 * np.exp(dh) * heights
    boxes = np.stack([pred_ctr_x - half_w, pred_ctr_y - half_h, pred_ctr_x + half_w, pred_ctr_y + half_h], axis=1)
    return boxes.astype(np.float32)


def decode_ssd(locations: np.ndarray, default_boxes: np.ndarray) -> np.ndarray:
    """(dx, dy, dw, dh) per default box (rows) -> normalised (left, top, right, bottom)."""
    xy = SSD_SCALE_XY * locations[:, :2] * default_boxes[:, 2:] + default_boxes[:, :2]
    wh = np.exp(SSD_SCALE_WH * locations[:, 2:]) * default_boxes[:, 2:]
    return np.concatenate([xy - 0.5 * wh, xy + 0.5 * wh], axis=1).astype(np.float32)


def clip_boxes(boxes: np.ndarray, height: float, width: float) -> np.ndarray:
    clipped = boxes.copy()
    clipped[:, 0::2] = np.clip(clipped[:, 0::2], 0, width)
    clipped[:, 1::2] = np.clip(clipped[:, 1::2], 0, height)
    return clipped


def iou_one_to_many(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of `box` with each row of `boxes` (x1, y1, x2, y2)."""
    extent_x = np.maximum(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0)
    extent_y = np.maximum(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0)
    inter = extent_x * extent_y
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    with np.errstate(divide="ignore", invalid="ignore"):
        return inter / (area + areas - inter)


def nms(
    boxes: np.ndarray,
    scores: np.ndarray,
    iou_threshold: float,
    suppress_equal: bool = False,
) -> np.ndarray:
    """Indices kept by greedy NMS, highest score first.

    A box is dropped when its IoU with a kept one is above the threshold (torchvision), or at or above it
    with `suppress_equal` (SSD-ResNet34's `iou < criteria` survives).
    """
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size:
        best = int(order[0])
        keep.append(best)
        rest = order[1:]
        iou = iou_one_to_many(boxes[best], boxes[rest])
        survives = iou < iou_threshold if suppress_equal else ~(iou > iou_threshold)
        order = rest[survives]
    return np.array(keep, dtype=np.int64)


def batched_nms(boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Per-class NMS (labels never suppress each other); kept indices, highest score first."""
    kept = [
        np.flatnonzero(labels == label)[nms(boxes[labels == label], scores[labels == label], iou_threshold)]
        for label in np.unique(labels)
    ]
    if not kept:
        return np.zeros(0, dtype=np.int64)
    merged = np.concatenate(kept)
    return merged[np.argsort(-scores[merged], kind="stable")]


def xywh_to_xyxy(boxes: np.ndarray) -> np.ndarray:
    """(n, 4) centre x, centre y, width, height -> x1, y1, x2, y2."""
    half = boxes[:, 2:4] / np.float32(2.0)
    return np.concatenate([boxes[:, 0:2] - half, boxes[:, 0:2] + half], axis=1).astype(np.float32)


def offset_nms(
    boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray, iou_threshold: float, offset: float
) -> np.ndarray:
    """Class-wise NMS the way Ultralytics does it; kept indices, highest score first.

    Ultralytics adds label · offset to every coordinate (in float32) so that classes never overlap, then runs
    one NMS. The shifted coordinates are used here too, because float32 rounding at ~600,000 pixels moves IoUs
    near the threshold; but each class is suppressed on its own, which keeps the same boxes (shifted classes
    cannot overlap) and is much faster than one pass over every candidate.
    """
    shift = labels.astype(np.float32) * np.float32(offset)
    shifted = (boxes.astype(np.float32) + shift[:, None]).astype(np.float32)
    return batched_nms(shifted, scores, labels, iou_threshold)
