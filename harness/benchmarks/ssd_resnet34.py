"""SSD-ResNet34 on COCO 2017 val at 1200x1200, as MLPerf Inference (up to v2.1) defines it.

Facts carried over from the MLPerf reference (mlcommons/inference v2.1 vision/classification_and_detection):
- dataset (python/coco.py): annotations/instances_val2017.json and val2017/; the QSL index is the position in
  `images`; accuracy-coco.py's --remove-48-empty-images instead indexes the images with annotations;
- preprocessing (python/dataset.py, pre_process_coco_resnet34): RGB float32, linear resize to 1200x1200, /255,
  minus mean (0.485, 0.456, 0.406), divided by std (0.229, 0.224, 0.225), NCHW;
- model (ssd-resnet34-onnxruntime profile, zenodo 3228411 resnet34-ssd1200.onnx): input `image`
  (1, 3, 1200, 1200), outputs `bboxes` (normalised left, top, right, bottom), `labels` (1..80, 0 is
  background), `scores`;
- postprocessing: keep scores >= 0.05 (PostProcessCocoPt(True, 0.05) of the PyTorch reference model, and
  PostProcessCocoTf), write (idx, top, left, bottom, right, score, label). The ONNX profile's
  PostProcessCocoOnnx compares with 0.5 instead; pass score_threshold=0.5 to reproduce that profile;
- raw heads (python/models/ssd_r34.py): 15130 default boxes, scale_xy 0.1, scale_wh 0.2, softmax over 81
  classes, per class score > 0.05, best 200, NMS dropping IoU >= 0.5, best 200 per image
  (decode_batch(…, 0.50, 200));
- accuracy (tools/accuracy-coco.py --use-inv-map, as tools/ci-run.sh runs it):
  label -> ([0] + getCatIds())[label], pycocotools bbox mAP, `mAP=X.XXX%`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from harness.benchmarks.detection.anchors import ssd_r34_default_boxes
from harness.benchmarks.detection.benchmark import DetectionBenchmark, check_batch
from harness.benchmarks.detection.dataset import COCO_2017
from harness.benchmarks.detection.postprocess import Detections, SsdHeadParams, from_normalised_ltrb, ssd_from_heads

IMAGE_SIZE = 1200
NUM_CLASSES = 81  # background + 80 COCO categories
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
DETECTION_OUTPUTS = ("bboxes", "labels", "scores")
HEAD_OUTPUTS = ("locs", "confs")
SCORE_THRESHOLD = 0.05  # PostProcessCocoPt(True, 0.05); PostProcessCocoOnnx uses 0.5


class SsdResNet34(DetectionBenchmark):
    """The `ssd-resnet34` benchmark; `outputs="heads"` reads raw (locs, confs) instead of final detections."""

    name = "ssd-resnet34"
    input_shape: tuple[int, ...] = (3, IMAGE_SIZE, IMAGE_SIZE)
    preprocessing_version = "coco-1200-v1"
    layout = COCO_2017
    use_inv_map = True

    def __init__(
        self,
        outputs: Literal["detections", "heads"] = "detections",
        remove_empty_images: bool = False,
        score_threshold: float = SCORE_THRESHOLD,
    ) -> None:
        if outputs not in ("detections", "heads"):
            raise ValueError(f"ssd-resnet34 outputs={outputs!r}; use 'detections' or 'heads'")
        self.outputs = outputs
        self.remove_empty_images = remove_empty_images
        self.output_names: tuple[str, ...] = DETECTION_OUTPUTS if outputs == "detections" else HEAD_OUTPUTS
        if not 0.0 <= score_threshold < 1.0:
            raise ValueError(f"ssd-resnet34 score_threshold={score_threshold}; use a value in [0, 1)")
        self.record_score_threshold = score_threshold
        self.head_params = SsdHeadParams()
        self._default_boxes = ssd_r34_default_boxes(IMAGE_SIZE) if outputs == "heads" else None

    def normalise(self, pixels: np.ndarray) -> np.ndarray:
        return (pixels / np.float32(255.0) - MEAN) / STD

    def detections(self, outputs: list[np.ndarray], batch_size: int) -> list[Detections]:
        if self._default_boxes is not None:
            locations, confidences = outputs
            boxes = len(self._default_boxes.boxes)
            check_batch("locs", locations, batch_size, (4, boxes))
            check_batch("confs", confidences, batch_size, (NUM_CLASSES, boxes))
            return [
                ssd_from_heads(locations[i], confidences[i], self._default_boxes, self.head_params)
                for i in range(batch_size)
            ]
        boxes_out, labels, scores = outputs
        check_batch("bboxes", boxes_out, batch_size, (-1, 4))
        check_batch("labels", labels, batch_size, (boxes_out.shape[1],))
        check_batch("scores", scores, batch_size, (boxes_out.shape[1],))
        return [from_normalised_ltrb(boxes_out[i], scores[i], labels[i]) for i in range(batch_size)]
