"""RetinaNet (ResNeXt50-32x4d FPN) on OpenImages-MLPerf at 800x800, as MLPerf Inference defines it.

Facts carried over from the MLPerf reference (mlcommons/inference vision/classification_and_detection):
- dataset (python/openimages.py, tools/openimages_mlperf.sh): annotations/openimages-mlperf.json in COCO
  format with 264 categories numbered 0..263, images in validation/data/; the QSL index is the position in
  `images`;
- preprocessing (python/dataset.py, pre_process_openimages_retinanet): RGB float32, linear resize to 800x800,
  divided by 255, NCHW; no mean/std here because the model normalises inside (training repo's transform);
- model (retinanet-onnxruntime profile, tools/retinanet_pytorch_to_onnx.py): input `images` (1, 3, 800, 800),
  outputs `boxes` (x1, y1, x2, y2 in input pixels), `labels` (category ids), `scores`, no batch axis;
- postprocessing (PostProcessOpenImagesRetinanet(False, 0.05, 800, 800, False)): drop scores below 0.05, write
  (idx, y1/800, x1/800, y2/800, x2/800, score, label) - labels are category ids, no inverse map;
- raw heads (training repo's RetinaNet): sigmoid, score > 0.05, top 1000 per level, BoxCoder(1, 1, 1, 1),
  clip to the image, class-wise NMS at IoU 0.5, 300 detections per image;
- accuracy (tools/accuracy-openimages.py without --use-inv-map): pycocotools bbox mAP, `mAP=X.XXX%`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from harness.benchmarks.detection.anchors import retinanet_anchors
from harness.benchmarks.detection.benchmark import DetectionBenchmark, check_batch
from harness.benchmarks.detection.dataset import OPENIMAGES_MLPERF
from harness.benchmarks.detection.postprocess import (
    Detections,
    RetinaNetHeadParams,
    from_pixel_xyxy,
    retinanet_from_heads,
)

IMAGE_SIZE = 800
NUM_CLASSES = 264
DETECTION_OUTPUTS = ("boxes", "labels", "scores")
HEAD_OUTPUTS = ("cls_logits", "bbox_regression")


class RetinaNet(DetectionBenchmark):
    """The `retinanet` benchmark; `outputs="heads"` reads raw per-anchor heads instead of final detections."""

    name = "retinanet"
    input_shape: tuple[int, ...] = (3, IMAGE_SIZE, IMAGE_SIZE)
    preprocessing_version = "openimages-800-v1"
    layout = OPENIMAGES_MLPERF
    record_score_threshold = 0.05
    use_inv_map = False

    def __init__(self, outputs: Literal["detections", "heads"] = "detections") -> None:
        if outputs not in ("detections", "heads"):
            raise ValueError(f"retinanet outputs={outputs!r}; use 'detections' or 'heads'")
        self.outputs = outputs
        self.output_names: tuple[str, ...] = DETECTION_OUTPUTS if outputs == "detections" else HEAD_OUTPUTS
        self.head_params = RetinaNetHeadParams()
        self._anchors = retinanet_anchors(IMAGE_SIZE) if outputs == "heads" else None

    def normalise(self, pixels: np.ndarray) -> np.ndarray:
        return pixels / np.float32(255.0)

    def detections(self, outputs: list[np.ndarray], batch_size: int) -> list[Detections]:
        if self._anchors is not None:
            logits, regression = outputs
            anchors = len(self._anchors.boxes)
            check_batch("cls_logits", logits, batch_size, (anchors, NUM_CLASSES))
            check_batch("bbox_regression", regression, batch_size, (anchors, 4))
            return [
                retinanet_from_heads(logits[i], regression[i], self._anchors, IMAGE_SIZE, self.head_params)
                for i in range(batch_size)
            ]
        boxes, labels, scores = outputs
        if boxes.ndim == 2:  # MLPerf's ONNX file answers one image without a batch axis
            if batch_size != 1:
                raise ValueError(
                    f"model output 'boxes' has shape {boxes.shape} (no batch axis, like MLPerf's "
                    f"resnext50_32x4d_fpn.onnx) but the batch holds {batch_size} images; "
                    "run with batch size 1"
                )
            boxes, labels, scores = boxes[None], labels[None], scores[None]
        check_batch("boxes", boxes, batch_size, (-1, 4))
        check_batch("labels", labels, batch_size, (boxes.shape[1],))
        check_batch("scores", scores, batch_size, (boxes.shape[1],))
        return [from_pixel_xyxy(boxes[i], scores[i], labels[i], IMAGE_SIZE, IMAGE_SIZE) for i in range(batch_size)]
