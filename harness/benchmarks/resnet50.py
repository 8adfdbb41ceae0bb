"""ResNet50-v1.5 on ImageNet 2012 validation, as MLPerf Inference defines it.

Facts carried over from the MLPerf reference (vision/classification_and_detection):
- dataset: `<dir>/val_map.txt`, one `<file> <label>` line per image, labels 0..999; the QSL index is
  the line number;
- preprocessing ("vgg"): RGB, resize so the shorter side is 256 (= 224 / 0.875) keeping the aspect
  ratio with OpenCV's INTER_AREA interpolation (reproduced in area_resize.py, within one level of
  OpenCV), centre crop 224x224, subtract the per-channel means 123.68/116.78/103.94, NCHW float32;
- model: MLPerf's resnet50_v1.onnx, output `ArgMax:0` over 1001 classes with background at index 0, so the
  ImageNet label is the arg-max minus one;
- accuracy log: each response is the label as one float32 (tools/accuracy-imagenet.py's default
  dtype), scored as top-1 over unique QSL indices and printed as `accuracy=X.XXX%, good=N, total=M`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from harness.benchmarks.area_resize import area_resize_window
from harness.benchmarks.base import AccuracyReport, CompactForm, DatasetError, Sample, expand

_CROP = 224
_RESIZE_SCALE = 0.875  # the shorter side becomes 224 / 0.875 = 256 before the centre crop
_MEANS = np.array([123.68, 116.78, 103.94], dtype=np.float32)
# The reference model's classifier has a background class at index 0.
_LABEL_OFFSET = -1


class ResNet50:
    """The `resnet50` benchmark (see the module docstring for what follows MLPerf)."""

    name = "resnet50"
    input_shape: tuple[int, ...] = (3, _CROP, _CROP)
    input_dtype = np.dtype(np.float32)
    output_names: tuple[str, ...] = ("ArgMax:0",)
    # Changes whenever preprocessing output could change; part of the cache key of preprocessed samples.
    preprocessing_version = "resnet50-vgg-cv2area-v2"
    # The crop before the mean subtraction is whole levels 0..255 (OpenCV rounds 8-bit resizes, as area_resize
    # does), so uint8 holds it exactly: a quarter of the float32 sample, expanded on the device.
    compact_form = CompactForm(dtype="uint8", offset=tuple(float(m) for m in _MEANS), divisor=1.0,
                               version="resnet50-vgg-cv2area-u8-v1")  # fmt: skip

    def label_files(self, dataset_dir: Path) -> tuple[Path, ...]:
        """Files besides the samples whose content decides the results (part of the dataset's fingerprint)."""
        return (dataset_dir / "val_map.txt",)

    def list_samples(self, dataset_dir: Path, count: int | None) -> list[Sample]:
        """The first `count` (all if None) entries of val_map.txt, each checked to exist."""
        entries = read_val_map(dataset_dir)
        if count is not None:
            if count > len(entries):
                raise DatasetError(
                    f"--count {count} is larger than the {len(entries)} images listed in "
                    f"{dataset_dir / 'val_map.txt'}; use --count {len(entries)} or less"
                )
            entries = entries[:count]
        samples = []
        for index, (key, _label) in enumerate(entries):
            path = dataset_dir / key
            if not path.is_file():
                raise DatasetError(f"{path} is listed in val_map.txt but missing; restore it or fix val_map.txt")
            samples.append(Sample(index=index, path=path, key=key))
        return samples

    def preprocess(self, sample: Sample) -> np.ndarray:
        """The MLPerf "vgg" preprocessing of one JPEG into a (3, 224, 224) float32 array."""
        return expand(self.compact_form, self.compact(sample))

    def compact(self, sample: Sample) -> np.ndarray:
        """The centre crop of one JPEG as (3, 224, 224) uint8 levels, before the mean subtraction."""
        try:
            with Image.open(sample.path) as image:
                # OpenCV's imread (the reference's decoder) applies the EXIF orientation: so do we.
                rgb = ImageOps.exif_transpose(image).convert("RGB")
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
            raise DatasetError(
                f"cannot decode image {sample.path}: {error}; replace the file with a valid JPEG"
            ) from error
        crop = _resize_and_crop(rgb).astype(np.uint8)  # whole levels 0..255 already: the cast is exact
        return np.ascontiguousarray(crop.transpose(2, 0, 1))

    def postprocess(self, outputs: list[np.ndarray], sample_indices: list[int]) -> list[bytes]:
        """One float32 ImageNet label per sample.

        Accepts MLPerf's `ArgMax:0` (shape (N,), 1001-class index) or scores shaped (N, 1001)
        (background first) or (N, 1000) (no background), so other backends may return either.
        """
        labels = _labels_from_output(outputs[0])
        if len(labels) != len(sample_indices):
            raise ValueError(f"model returned {len(labels)} results for a batch of {len(sample_indices)}")
        return [np.float32(label).tobytes() for label in labels]

    def payload_rows(self, outputs: list[np.ndarray]) -> np.ndarray:
        """The same payloads as one (N, 4) byte array, for SUTs that complete a whole batch at once."""
        labels = _labels_from_output(outputs[0]).astype(np.float32)
        return labels.view(np.uint8).reshape(len(labels), 4)

    def accuracy(self, accuracy_log: Path, dataset_dir: Path, samples: list[Sample]) -> AccuracyReport:
        """Top-1 over the unique QSL indices of the accuracy log, worded as accuracy-imagenet.py does."""
        expected = [label for _key, label in read_val_map(dataset_dir)[: len(samples)]]
        entries = json.loads(accuracy_log.read_text())
        seen: set[int] = set()
        good = 0
        for entry in entries:
            index = int(entry["qsl_idx"])
            if index in seen:  # LoadGen may issue a sample more than once
                continue
            seen.add(index)
            found = int(np.frombuffer(bytes.fromhex(entry["data"]), dtype=np.float32)[0])
            good += int(found == expected[index])
        if not seen:
            raise ValueError(f"{accuracy_log} holds no responses; the accuracy run produced no results")
        value = 100.0 * good / len(seen)
        return AccuracyReport(line=f"accuracy={value:.3f}%, good={good}, total={len(seen)}", value=value, metric="top1")


def read_val_map(dataset_dir: Path) -> list[tuple[str, int]]:
    """(file, label) pairs of `<dataset_dir>/val_map.txt`, in order."""
    if not dataset_dir.is_dir():
        raise DatasetError(f"dataset directory {dataset_dir} does not exist; pass --dataset DIR with val_map.txt")
    val_map = dataset_dir / "val_map.txt"
    if not val_map.is_file():
        raise DatasetError(
            f"{val_map} is missing; an ImageNet dataset directory holds val_map.txt ('<file> <label>' lines) "
            "and the JPEGs"
        )
    entries: list[tuple[str, int]] = []
    for number, line in enumerate(val_map.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split()
        if len(fields) != 2 or not fields[1].lstrip("-").isdigit():
            raise DatasetError(f"{val_map} line {number} is {line!r}; expected '<file> <label>'")
        entries.append((fields[0], int(fields[1])))
    if not entries:
        raise DatasetError(f"{val_map} lists no images; the dataset is empty")
    return entries


def _resize_and_crop(image: Image.Image) -> np.ndarray:
    """Shorter side to 256 keeping the aspect ratio (INTER_AREA, as the reference), centre 224x224 crop."""
    pixels = np.asarray(image, dtype=np.uint8)
    height, width, _ = pixels.shape
    target = int(_CROP / _RESIZE_SCALE)
    if height > width:
        new_width, new_height = target, int(target * height / width)
    else:
        new_width, new_height = int(target * width / height), target
    left, top = int((new_width - _CROP) / 2), int((new_height - _CROP) / 2)
    return area_resize_window(pixels, (new_width, new_height), (left, top, _CROP, _CROP))


def _labels_from_output(output: np.ndarray) -> np.ndarray:
    if output.ndim == 1 or (output.ndim == 2 and output.shape[1] == 1):
        return output.reshape(-1).astype(np.int64) + _LABEL_OFFSET
    if output.ndim == 2 and output.shape[1] in (1000, 1001):
        offset = _LABEL_OFFSET if output.shape[1] == 1001 else 0
        return np.argmax(output, axis=1) + offset
    raise ValueError(
        f"resnet50 output has shape {output.shape}; expected ArgMax:0 (N,) or class scores (N, 1001) or (N, 1000)"
    )
