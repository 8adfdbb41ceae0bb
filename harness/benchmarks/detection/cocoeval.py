"""Score a detection accuracy log with pycocotools, as tools/accuracy-coco.py and accuracy-openimages.py do.

Facts kept from the official scripts: the QSL index is a position in the annotation file's `images` list (or,
with --remove-48-empty-images, in the list of images that have at least one annotation, ordered as
`list(set(ids))` over `catToImgs`); responses are de-duplicated by QSL index; boxes are scaled by the image's
height and width into (x, y, w, h); `--use-inv-map` turns a contiguous label into a category id via
`[0] + getCatIds()`; only the images seen in the log are evaluated; the line is `mAP={:.3f}%` of stats[0].
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from harness.benchmarks.detection.payload import LogEntry, unpack


@dataclass(frozen=True)
class MapResult:
    """The official line, mAP in percent and pycocotools' summary table (kept for the run's log)."""

    line: str
    value: float
    summary: str


def load_ground_truth(annotations: Path) -> COCO:
    """The annotation file as a pycocotools COCO object; bad files raise ValueError naming the path."""
    if not annotations.is_file():
        raise ValueError(f"annotation file {annotations} is missing; download the dataset's annotations")
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return COCO(str(annotations))
    except (ValueError, KeyError, TypeError, AssertionError) as error:
        raise ValueError(f"{annotations} is not a COCO-format annotation file: {error!r}") from error


def image_map(ground_truth: COCO, remove_empty_images: bool) -> list[Mapping[str, Any]]:
    """The images in QSL order: the file's order, or the official script's order of annotated images."""
    if not remove_empty_images:
        return list(ground_truth.dataset["images"])
    ids: list[int] = []
    for category in ground_truth.getCatIds():
        ids += ground_truth.catToImgs[category]
    # Same construction as the official script: the order of a set of ints is deterministic in CPython.
    return [ground_truth.imgs[image_id] for image_id in list(set(ids))]


def inverse_label_map(ground_truth: COCO) -> list[int]:
    """Contiguous label -> category id, index 0 unused (background): `[0] + getCatIds()`."""
    return [0, *ground_truth.getCatIds()]


def score(
    ground_truth: COCO,
    entries: list[LogEntry],
    images: list[Mapping[str, Any]],
    label_map: list[int] | None,
) -> MapResult:
    """mAP of the logged detections over the images the log covers."""
    detections: list[dict[str, Any]] = []
    image_ids: set[int] = set()
    seen: set[int] = set()
    for entry in entries:
        if entry.qsl_idx in seen:  # LoadGen may issue a sample more than once
            continue
        seen.add(entry.qsl_idx)
        if not 0 <= entry.qsl_idx < len(images):
            raise ValueError(
                f"accuracy log has qsl_idx {entry.qsl_idx} but the dataset lists {len(images)} images; "
                "score the log against the dataset it was run on"
            )
        image = images[entry.qsl_idx]
        image_ids.add(image["id"])
        for image_idx, ymin, xmin, ymax, xmax, det_score, label in unpack(entry.data):
            if int(image_idx) != entry.qsl_idx:
                raise ValueError(
                    f"loadgen({entry.qsl_idx}) and payload({int(image_idx)}) disagree on image_idx; "
                    "the SUT answered a query with another sample's detections"
                )
            detections.append(_coco_detection(image, (ymin, xmin, ymax, xmax), det_score, int(label), label_map))
    if not seen:
        raise ValueError("the accuracy log holds no responses; the accuracy run produced no results")
    if not detections:  # pycocotools cannot load an empty result list; no detections is an mAP of 0
        return MapResult(line=f"mAP={0.0:.3f}%", value=0.0, summary="no detections")
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        results = ground_truth.loadRes(detections)
        evaluation = COCOeval(ground_truth, results, iouType="bbox")
        evaluation.params.imgIds = list(image_ids)
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    value = 100.0 * float(evaluation.stats[0])
    return MapResult(line=f"mAP={value:.3f}%", value=value, summary=output.getvalue())


def _coco_detection(
    image: Mapping[str, Any],
    box: tuple[float, float, float, float],
    det_score: float,
    label: int,
    label_map: list[int] | None,
) -> dict[str, Any]:
    height, width = image["height"], image["width"]
    ymin, xmin, ymax, xmax = box[0] * height, box[1] * width, box[2] * height, box[3] * width
    if label_map is not None:
        if not 0 <= label < len(label_map):
            raise ValueError(
                f"detected label {label} has no category: the model's labels must be 0..{len(label_map) - 1} "
                "(background 0) for this annotation file"
            )
        label = label_map[label]
    return {
        "image_id": image["id"],
        "category_id": label,
        "bbox": [float(xmin), float(ymin), float(xmax - xmin), float(ymax - ymin)],
        "score": float(det_score),
    }
