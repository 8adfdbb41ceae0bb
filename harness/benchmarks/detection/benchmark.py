"""What RetinaNet and SSD-ResNet34 share: listing, preprocessing, accuracy-log payloads and scoring.

A subclass says which dataset layout it reads, how it normalises pixels, how it turns one batch of model
outputs into per-image detections and which score threshold the reference applies before writing the log.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.benchmarks.base import AccuracyReport, DatasetError, Sample
from harness.benchmarks.detection import cocoeval, dataset, payload
from harness.benchmarks.detection.imageops import read_rgb, resize_linear
from harness.benchmarks.detection.postprocess import Detections


class DetectionBenchmark:
    """Base of the detection benchmarks; subclasses set the class attributes and `detections`."""

    name: str
    input_shape: tuple[int, ...]
    input_dtype = np.dtype(np.float32)
    output_names: tuple[str, ...]
    preprocessing_version: str
    layout: dataset.DatasetLayout
    record_score_threshold: float
    use_inv_map: bool  # labels are contiguous indices with background 0 (accuracy script's --use-inv-map)
    remove_empty_images = False

    def label_files(self, dataset_dir: Path) -> tuple[Path, ...]:
        """Files besides the samples whose content decides the results (part of the dataset's fingerprint)."""
        return (dataset_dir / self.layout.annotations,)

    def list_samples(self, dataset_dir: Path, count: int | None) -> list[Sample]:
        return dataset.list_samples(self.layout, dataset_dir, count, self.remove_empty_images)

    def preprocess(self, sample: Sample) -> np.ndarray:
        """MLPerf's maybe_resize (RGB float32, linear resize to the input size) then `normalise`, as CHW."""
        try:
            pixels = read_rgb(sample.path)
        except ValueError as error:
            raise DatasetError(str(error)) from error
        _, height, width = self.input_shape
        resized = self.normalise(resize_linear(pixels, height, width))
        return np.ascontiguousarray(resized.transpose(2, 0, 1), dtype=np.float32)

    def normalise(self, pixels: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def detections(self, outputs: list[np.ndarray], batch_size: int) -> list[Detections]:
        raise NotImplementedError

    def postprocess(self, outputs: list[np.ndarray], sample_indices: list[int]) -> list[bytes]:
        """One payload of 7-float groups per image, after the reference's score threshold."""
        per_image = self.detections(outputs, len(sample_indices))
        return [
            payload.pack(index, found.above(self.record_score_threshold))
            for index, found in zip(sample_indices, per_image, strict=True)
        ]

    def accuracy(self, accuracy_log: Path, dataset_dir: Path, samples: list[Sample]) -> AccuracyReport:
        """mAP of the log over the images it covers, printed as the official accuracy script prints it."""
        truth = dataset.ground_truth(self.layout, dataset_dir)
        images = cocoeval.image_map(truth, self.remove_empty_images)[: len(samples)]
        label_map = cocoeval.inverse_label_map(truth) if self.use_inv_map else None
        result = cocoeval.score(truth, payload.read_accuracy_log(accuracy_log), images, label_map)
        return AccuracyReport(line=result.line, value=result.value, metric="mAP")


def check_batch(name: str, output: np.ndarray, batch_size: int, trailing: tuple[int, ...]) -> None:
    """A clear error when an output's shape is not (batch, *trailing) (-1 in `trailing` matches any size)."""
    expected = (batch_size, *trailing)
    ok = output.ndim == len(expected) and all(e in (-1, s) for e, s in zip(expected, output.shape, strict=True))
    if not ok:
        shown = tuple("N" if e == -1 else e for e in expected)
        raise ValueError(
            f"model output {name!r} has shape {output.shape}, expected {shown}; the model does not match "
            "this benchmark (input size, class count or output layout) - use the benchmark's reference model"
        )
