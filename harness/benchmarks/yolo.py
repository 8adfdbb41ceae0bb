"""YOLO11l on the 1,525-image safe subset of COCO 2017 val, as MLPerf Inference defines yolo-95 and yolo-99.

The two benchmarks differ only in their accuracy target (53.4 mAP x 0.95 or x 0.99 in the submission checker's
constants), so they share this implementation. Facts from the MLPerf reference
(mlcommons/inference vision/classification_and_detection/yolo/yolo_loadgen.py and README.md):
- dataset: `annotations/instances_val2017.json` filtered to 1,525 images and the images in `val2017_safe/`; the QSL
  index is the position in the file's `images` list;
- the reference calls Ultralytics' predict on the image file at its defaults (image size 640) with conf=0.001: a
  letterbox to 640 (minimal stride padding for a PyTorch model, see harness/benchmarks/detection/letterbox.py),
  RGB / 255, class-wise NMS at IoU 0.7, at most 300 detections (detection/postprocess.py, YoloParams);
- records: (qsl index, ymin/h, xmin/w, ymax/h, xmax/w, score, COCO-91 category) as float32 with boxes in original
  image pixels over the original height h and width w, every detection NMS kept (no further threshold);
- accuracy: tools/accuracy-coco.py without --use-inv-map (labels are category ids already): `mAP=X.XXX%`, the
  figure the checker's `mAP=` pattern reads, in percent.
The model is an ONNX export of YOLO11l without NMS: input (batch, 3, 640, 640), one output `output0` of
(batch, 84, 8400): per anchor cx, cy, w, h in input pixels and 80 class scores, no objectness (Ultralytics' ONNX
export names and layout; the MLPerf reference itself runs the PyTorch file and states no export). ONNX Runtime and
TensorRT run that export; the PyTorch backend runs YOLO11l written out (harness/backends/pytorch/yolo11.py) and
answers the same output0, so decode and NMS here serve every backend.

Padding, the benchmark option `padding` (harness/benchmarks/options.py; `benchmark_options: {padding: minimal}`
under the benchmark in a system description, `--benchmark-option padding=minimal` by hand): `square` (default)
pads every image to 640x640, so batches have one shape; `minimal` pads to the next multiple of 32 as the
reference's PyTorch predict does, so inputs vary per image: it needs a model with dynamic height and width and
batch size 1, which the run checks before it starts. On the synthetic set (msb/synthetic/yolo.py) both give
mAP=100.000% exact and 85.000% perturbed, a difference of 0.000 points: the mapping back to the image is
consistent in both. How far YOLO11l's own figures differ between them is not measured here (no weights on these
machines).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.benchmarks.base import DatasetError, Sample
from harness.benchmarks.detection import cocoeval, dataset, payload
from harness.benchmarks.detection.benchmark import DetectionBenchmark, check_batch
from harness.benchmarks.detection.dataset import COCO_80_TO_91, COCO_2017_SAFE
from harness.benchmarks.detection.imageops import read_rgb
from harness.benchmarks.detection.letterbox import Letterbox, letterbox, letterbox_geometry, to_original
from harness.benchmarks.detection.postprocess import Detections, YoloParams, yolo_from_raw
from harness.benchmarks.options import Padding, YoloOptions

IMAGE_SIZE = 640
NUM_CLASSES = 80
STRIDES = (8, 16, 32)


def anchor_count(height: int, width: int) -> int:
    """Anchors of a YOLO detection head on a height x width input: one per cell of the stride 8, 16, 32 grids."""
    return sum((height // stride) * (width // stride) for stride in STRIDES)


class Yolo(DetectionBenchmark):
    """The yolo-95 / yolo-99 benchmark; `padding` picks the letterbox (see the module docstring)."""

    input_shape: tuple[int, ...] = (3, IMAGE_SIZE, IMAGE_SIZE)
    output_names: tuple[str, ...] = ("output0",)
    layout = COCO_2017_SAFE
    record_score_threshold = 0.0
    use_inv_map = False

    def __init__(self, name: str, padding: Padding = "square", params: YoloParams | None = None) -> None:
        if padding not in ("square", "minimal"):
            raise ValueError(f"{name} padding={padding!r}; use 'square' (batched runs) or 'minimal' (the reference)")
        self.name = name
        self.padding: Padding = padding
        self.params = params or YoloParams()
        self.preprocessing_version = f"coco-letterbox{IMAGE_SIZE}-{padding}-v1"
        # Minimal padding gives each image its own input size (VaryingInputBenchmark): why samples cannot be
        # batched, or None. The run then refuses batch sizes above 1 and fixed-size models, and takes the host path.
        self.varying_input = (
            "padding=minimal letterboxes each image to its own multiple of 32; padding=square batches"
            if padding == "minimal"
            else None
        )
        self._sizes: list[tuple[int, int]] = []  # (height, width) per QSL index, from the annotation file

    def list_samples(self, dataset_dir: Path, count: int | None) -> list[Sample]:
        samples = super().list_samples(dataset_dir, count)
        images = cocoeval.image_map(dataset.ground_truth(self.layout, dataset_dir), remove_empty_images=False)
        self._sizes = [(int(image["height"]), int(image["width"])) for image in images[: len(samples)]]
        return samples

    def geometry(self, index: int) -> Letterbox:
        """The letterbox of sample `index` (known once `list_samples` has read the annotation file)."""
        if not 0 <= index < len(self._sizes):
            raise ValueError(f"sample {index} is not among the {len(self._sizes)} listed; call list_samples first")
        height, width = self._sizes[index]
        return letterbox_geometry(height, width, IMAGE_SIZE, minimal=self.padding == "minimal")

    def preprocess(self, sample: Sample) -> np.ndarray:
        """Letterbox to 640 (grey 114), RGB / 255, CHW float32."""
        try:
            pixels = read_rgb(sample.path)
        except ValueError as error:
            raise DatasetError(str(error)) from error
        box = self.geometry(sample.index)
        if pixels.shape[:2] != (box.height, box.width):
            raise DatasetError(
                f"{sample.path} is {pixels.shape[1]}x{pixels.shape[0]} pixels but {self.layout.annotations} says "
                f"{box.width}x{box.height}; boxes would map to the wrong place - use the matching annotation file"
            )
        boxed = letterbox(pixels, box) / np.float32(255.0)
        return np.ascontiguousarray(boxed.transpose(2, 0, 1), dtype=np.float32)

    def postprocess(self, outputs: list[np.ndarray], sample_indices: list[int]) -> list[bytes]:
        """One payload per image: every kept detection, in original-image proportions, COCO-91 labelled."""
        (raw,) = outputs
        boxes = [self.geometry(index) for index in sample_indices]
        self._check_output(raw, boxes)
        return [
            payload.pack(index, self._image_detections(raw[i], box))
            for i, (index, box) in enumerate(zip(sample_indices, boxes, strict=True))
        ]

    def _check_output(self, raw: np.ndarray, boxes: list[Letterbox]) -> None:
        """(batch, 84, anchors of the input size), so a model for other classes or sizes fails by name."""
        sizes = {(box.input_height, box.input_width) for box in boxes}
        if len(sizes) != 1:
            raise ValueError(
                f"{self.name} with minimal padding feeds inputs of {len(sizes)} sizes in one batch; "
                "run it with batch size 1 or use square padding"
            )
        ((height, width),) = sizes
        check_batch("output0", raw, len(boxes), (4 + NUM_CLASSES, anchor_count(height, width)))

    def _image_detections(self, raw: np.ndarray, box: Letterbox) -> Detections:
        pixel_boxes, scores, labels = yolo_from_raw(raw, self.params)
        scale = np.array([box.width, box.height, box.width, box.height], dtype=np.float32)
        normalised = to_original(pixel_boxes, box) / scale
        categories = np.asarray(COCO_80_TO_91, dtype=np.int64)[labels]
        return Detections(normalised.astype(np.float32), scores.astype(np.float32), categories)


def yolo_95(options: YoloOptions) -> Yolo:
    return Yolo("yolo-95", padding=options.padding)


def yolo_99(options: YoloOptions) -> Yolo:
    return Yolo("yolo-99", padding=options.padding)
