"""Detection postprocessing on the device: decode, threshold, top-k, class-wise NMS, fixed-size outputs.

Same rules as the MLPerf reference models (and as `harness.benchmarks.detection.postprocess`, which does it in NumPy on
the host): RetinaNet keeps sigmoid scores > 0.05, the top 1000 per FPN level, decodes with BoxCoder(1, 1, 1, 1)
and dw/dh clamped at log(1000/16), clips to the image, runs class-wise NMS at IoU 0.5 and keeps 300; SSD-ResNet34
takes softmax scores > 0.05, the top 200 per class, NMS per class suppressing IoU >= 0.5, and keeps the best
200. Outputs are padded to those counts with zero scores, which the benchmarks' score thresholds drop.

NMS here is exact greedy NMS computed as a fixed point, which suits a GPU: with boxes sorted by score,
keep[i] = no kept j < i overlaps i. Iterating that rule from "keep all" fixes one more box per round at least,
and the greedy answer is its only fixed point, so stopping at the first repeat gives exactly greedy NMS.
"""

from __future__ import annotations

import math

import torch

RETINANET_SCORE = 0.05
RETINANET_IOU = 0.5
RETINANET_TOPK = 1000
RETINANET_DETECTIONS = 300
BBOX_CLIP = math.log(1000.0 / 16)
SSD_SCORE = 0.05
SSD_IOU = 0.5
SSD_PER_CLASS = 200
SSD_DETECTIONS = 200
_ROUNDS_PER_CHECK = 4


def pairwise_iou(boxes: torch.Tensor) -> torch.Tensor:
    """IoU of every pair within (..., M, 4) corner boxes -> (..., M, M)."""
    x1, y1, x2, y2 = boxes.unbind(-1)
    width = torch.minimum(x2[..., :, None], x2[..., None, :]) - torch.maximum(x1[..., :, None], x1[..., None, :])
    height = torch.minimum(y2[..., :, None], y2[..., None, :]) - torch.maximum(y1[..., :, None], y1[..., None, :])
    inter = width.clamp_(min=0).mul_(height.clamp_(min=0))
    area = (x2 - x1) * (y2 - y1)
    return inter / (area[..., :, None] + area[..., None, :] - inter)


def greedy_keep(suppresses: torch.Tensor) -> torch.Tensor:
    """keep mask (..., M) of greedy NMS, where suppresses[..., j, i] says box j would remove box i.

    Boxes are sorted by decreasing score along the last axes; only j < i counts.
    """
    m = suppresses.shape[-1]
    earlier = torch.ones(m, m, dtype=torch.bool, device=suppresses.device).triu(diagonal=1)
    suppresses = suppresses & earlier
    keep = torch.ones(suppresses.shape[:-1], dtype=torch.bool, device=suppresses.device)
    for _ in range(0, m, _ROUNDS_PER_CHECK):
        # Convergence is checked (a device sync) only every few rounds: rounds past the fixed point change
        # nothing, and a repeat after k rounds means a fixed point (the sequence is deterministic and converges).
        previous = keep
        for _ in range(_ROUNDS_PER_CHECK):
            keep = ~(suppresses & keep.unsqueeze(-1)).any(dim=-2)
        if torch.equal(previous, keep):
            break
    return keep


def _top_kept(keep: torch.Tensor, scores: torch.Tensor, count: int, *values: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Per image, the `count` best kept entries (scores zero where fewer were kept), and `values` alongside."""
    ranked = torch.where(keep, scores, torch.full_like(scores, -1.0))
    best, index = ranked.topk(min(count, ranked.shape[-1]), dim=-1)
    chosen = best > -1.0
    out_scores = torch.where(chosen, best, torch.zeros_like(best))
    outputs = [out_scores]
    for value in values:
        gathered = torch.gather(
            value, 1, index.reshape(*index.shape, *([1] * (value.dim() - 2))).expand(*index.shape, *value.shape[2:])
        )
        mask = chosen.reshape(*chosen.shape, *([1] * (value.dim() - 2)))
        outputs.append(torch.where(mask, gathered, torch.zeros_like(gathered)))
    padding = count - best.shape[-1]
    if padding > 0:
        outputs = [torch.nn.functional.pad(o, (0, 0) * (o.dim() - 2) + (0, padding)) for o in outputs]
    return tuple(outputs)


def decode_retinanet(regression: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
    """(..., 4) regressions against (..., 4) corner anchors -> corner boxes (BoxCoder weights 1, 1, 1, 1)."""
    widths = anchors[..., 2] - anchors[..., 0]
    heights = anchors[..., 3] - anchors[..., 1]
    ctr_x = anchors[..., 0] + 0.5 * widths
    ctr_y = anchors[..., 1] + 0.5 * heights
    dx, dy = regression[..., 0], regression[..., 1]
    dw = regression[..., 2].clamp(max=BBOX_CLIP)
    dh = regression[..., 3].clamp(max=BBOX_CLIP)
    pred_x, pred_y = dx * widths + ctr_x, dy * heights + ctr_y
    pred_w, pred_h = torch.exp(dw) * widths, torch.exp(dh) * heights
    return torch.stack([pred_x - 0.5 * pred_w, pred_y - 0.5 * pred_h, pred_x + 0.5 * pred_w, pred_y + 0.5 * pred_h], -1)


def retinanet_detections(
    cls_logits: torch.Tensor,
    bbox_regression: torch.Tensor,
    anchors: torch.Tensor,
    per_level: tuple[int, ...],
    image_size: int,
    chunk: int = 4,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(N, A, K) logits and (N, A, 4) regressions -> boxes (N, 300, 4) in pixels, labels (N, 300), scores.

    Whole batches at once (fixed shapes: top-k candidates with a validity mask); NMS runs `chunk` images at a
    time because its pairwise matrices take M^2 memory per image (M = 5000 candidates).
    """
    num_classes = cls_logits.shape[-1]
    boxes, scores, labels = [], [], []
    start = 0
    for count in per_level:
        # Sigmoid is monotonic: take the top-k of the raw logits, then apply it to those k alone.
        level = cls_logits[:, start : start + count].flatten(1)
        top_logits, top_index = level.topk(min(RETINANET_TOPK, level.shape[1]), dim=1)
        top_scores = torch.sigmoid(top_logits.float())
        anchor_index = top_index // num_classes + start
        regression = torch.gather(bbox_regression.float(), 1, anchor_index[..., None].expand(-1, -1, 4))
        decoded = decode_retinanet(regression, anchors[anchor_index])
        boxes.append(decoded.clamp(min=0, max=image_size))
        scores.append(torch.where(top_scores > RETINANET_SCORE, top_scores, torch.full_like(top_scores, -1.0)))
        labels.append(top_index % num_classes)
        start += count
    all_scores, order = torch.cat(scores, 1).sort(dim=1, descending=True, stable=True)
    all_boxes = torch.gather(torch.cat(boxes, 1), 1, order[..., None].expand(-1, -1, 4))
    all_labels = torch.gather(torch.cat(labels, 1), 1, order)
    valid = all_scores > 0
    keep = torch.cat(
        [
            _classwise_keep(all_boxes[i : i + chunk], all_labels[i : i + chunk], valid[i : i + chunk])
            for i in range(0, all_boxes.shape[0], chunk)
        ]
    )
    out_scores, out_boxes, out_labels = _top_kept(keep, all_scores, RETINANET_DETECTIONS, all_boxes, all_labels)
    return out_boxes, out_labels, out_scores


def _classwise_keep(boxes: torch.Tensor, labels: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Greedy NMS keep mask over score-sorted (n, M) candidates; classes never suppress each other."""
    suppresses = pairwise_iou(boxes) > RETINANET_IOU
    suppresses &= labels[:, :, None] == labels[:, None, :]
    suppresses &= valid[:, :, None]
    return greedy_keep(suppresses) & valid


def decode_ssd(locations: torch.Tensor, default_boxes: torch.Tensor) -> torch.Tensor:
    """(N, B, 4) offsets against (B, 4) (cx, cy, w, h) default boxes -> normalised (l, t, r, b)."""
    xy = 0.1 * locations[..., :2] * default_boxes[:, 2:] + default_boxes[:, :2]
    wh = torch.exp(0.2 * locations[..., 2:]) * default_boxes[:, 2:]
    return torch.cat([xy - 0.5 * wh, xy + 0.5 * wh], dim=-1)


def ssd_detections(
    locs: torch.Tensor, confs: torch.Tensor, default_boxes: torch.Tensor, chunk: int = 8
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(N, 4, B) and (N, C, B) heads -> bboxes (N, 200, 4) normalised ltrb, labels (N, 200) 1..C-1, scores."""
    n, num_classes, _ = confs.shape
    boxes = decode_ssd(locs.float().transpose(1, 2), default_boxes)
    probabilities = torch.softmax(confs.float(), dim=1)[:, 1:]  # (N, C-1, B), background dropped
    top_scores, top_index = probabilities.topk(min(SSD_PER_CLASS, probabilities.shape[-1]), dim=2)
    valid = top_scores > SSD_SCORE  # (N, C-1, k), sorted by decreasing score per class
    candidates = torch.gather(
        boxes[:, None].expand(-1, num_classes - 1, -1, -1), 2, top_index[..., None].expand(-1, -1, -1, 4)
    )
    keeps = []
    for i in range(0, n, chunk):
        suppresses = pairwise_iou(candidates[i : i + chunk]) >= SSD_IOU
        suppresses &= valid[i : i + chunk, :, :, None]
        keeps.append(greedy_keep(suppresses) & valid[i : i + chunk])
    keep = torch.cat(keeps).flatten(1)
    labels = torch.arange(1, num_classes, device=confs.device)[None, :, None].expand_as(top_scores).flatten(1)
    out_scores, out_boxes, out_labels = _top_kept(
        keep, top_scores.flatten(1), SSD_DETECTIONS, candidates.flatten(1, 2), labels
    )
    return out_boxes, out_labels, out_scores
