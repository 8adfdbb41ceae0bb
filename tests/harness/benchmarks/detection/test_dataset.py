"""Detection datasets and scoring: QSL order, short runs, and clear refusals of inputs that do not match."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harness.benchmarks.base import DatasetError
from harness.benchmarks.detection.payload import LogEntry, pack, write_accuracy_log
from harness.benchmarks.detection.postprocess import Detections
from harness.benchmarks.retinanet import RetinaNet
from harness.benchmarks.ssd_resnet34 import SsdResNet34
from msb.synthetic.detection import write_dataset
from msb.synthetic.detection_layout import COCO_CATEGORY_IDS

COUNT = 10


@pytest.fixture(scope="module")
def openimages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("oi") / "dataset", "retinanet", COUNT).dataset_dir


@pytest.fixture(scope="module")
def coco(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("coco") / "dataset", "ssd-resnet34", COUNT, empty_images=2).dataset_dir


def _annotation(dataset: Path, name: str) -> dict:
    return json.loads((dataset / "annotations" / name).read_text())


def test_samples_follow_the_annotation_file_order(openimages: Path) -> None:
    images = _annotation(openimages, "openimages-mlperf.json")["images"]
    samples = RetinaNet().list_samples(openimages, 4)
    assert [s.key for s in samples] == [f"validation/data/{image['file_name']}" for image in images[:4]]
    assert [s.index for s in samples] == [0, 1, 2, 3]


def test_annotations_that_do_not_match_the_images_are_refused(tmp_path: Path) -> None:
    dataset = write_dataset(tmp_path / "dataset", "retinanet", COUNT).dataset_dir
    first = _annotation(dataset, "openimages-mlperf.json")["images"][3]["file_name"]
    (dataset / "validation/data" / first).unlink()
    with pytest.raises(DatasetError, match=f"{first} is listed in annotations/openimages-mlperf.json.*do not match"):
        RetinaNet().list_samples(dataset, None)


def test_missing_or_broken_annotations_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="does not exist"):
        RetinaNet().list_samples(tmp_path / "nowhere", None)
    (tmp_path / "annotations").mkdir()
    with pytest.raises(DatasetError, match=r"instances_val2017\.json is missing"):
        SsdResNet34().list_samples(tmp_path, None)
    (tmp_path / "annotations/instances_val2017.json").write_text('{"images": 3}')
    with pytest.raises(DatasetError, match="not a COCO-format annotation file"):
        SsdResNet34().list_samples(tmp_path, None)


def test_count_beyond_the_dataset_is_refused(openimages: Path) -> None:
    with pytest.raises(DatasetError, match="--count 11 must be between 1 and the 10 images"):
        RetinaNet().list_samples(openimages, COUNT + 1)


def test_remove_empty_images_uses_the_official_order(coco: Path) -> None:
    annotations = _annotation(coco, "instances_val2017.json")
    annotated = {a["image_id"] for a in annotations["annotations"]}
    ids: list[int] = []
    for category in COCO_CATEGORY_IDS:  # accuracy-coco.py: catToImgs over getCatIds(), then list(set(...))
        ids += [a["image_id"] for a in annotations["annotations"] if a["category_id"] == category]
    by_id = {image["id"]: image["file_name"] for image in annotations["images"]}
    samples = SsdResNet34(remove_empty_images=True).list_samples(coco, None)
    assert [s.key for s in samples] == [f"val2017/{by_id[i]}" for i in list(set(ids))]
    assert len(samples) == len(annotated) == COUNT


def _log(tmp_path: Path, entries: list[LogEntry]) -> Path:
    write_accuracy_log(tmp_path / "log.json", entries)
    return tmp_path / "log.json"


def _one_box(label: int) -> Detections:
    return Detections(np.array([[0, 0, 0.5, 0.5]], np.float32), np.array([0.9], np.float32), np.array([label]))


def test_scoring_refuses_logs_that_do_not_fit_the_dataset(tmp_path: Path, openimages: Path) -> None:
    benchmark = RetinaNet()
    samples = benchmark.list_samples(openimages, 2)
    with pytest.raises(ValueError, match="qsl_idx 5 but the dataset lists 2 images"):
        benchmark.accuracy(_log(tmp_path, [LogEntry(5, pack(5, _one_box(0)))]), openimages, samples)
    with pytest.raises(ValueError, match=r"loadgen\(1\) and payload\(0\) disagree"):
        benchmark.accuracy(_log(tmp_path, [LogEntry(1, pack(0, _one_box(0)))]), openimages, samples)
    with pytest.raises(ValueError, match="no responses"):
        benchmark.accuracy(_log(tmp_path, []), openimages, samples)


def test_contiguous_labels_beyond_the_categories_are_refused(tmp_path: Path, coco: Path) -> None:
    benchmark = SsdResNet34()
    samples = benchmark.list_samples(coco, 1)
    with pytest.raises(ValueError, match=r"label 81 has no category.*0\.\.80"):
        benchmark.accuracy(_log(tmp_path, [LogEntry(0, pack(0, _one_box(81)))]), coco, samples)


def _truth(dataset: Path, index: int) -> Detections:
    """Perfect detections of image `index` of the OpenImages-layout set (labels are category ids)."""
    annotations = _annotation(dataset, "openimages-mlperf.json")
    image = annotations["images"][index]
    found = [a for a in annotations["annotations"] if a["image_id"] == image["id"]]
    size = np.array([image["width"], image["height"]] * 2, np.float32)
    boxes = np.array([[x, y, x + w, y + h] for x, y, w, h in (a["bbox"] for a in found)], np.float32) / size
    return Detections(boxes, np.full(len(found), 0.9, np.float32), np.array([a["category_id"] for a in found]))


def test_no_detections_scores_zero_and_duplicates_count_once(tmp_path: Path, openimages: Path) -> None:
    benchmark = RetinaNet()
    samples = benchmark.list_samples(openimages, 2)
    empty = [LogEntry(0, b""), LogEntry(1, b"")]
    assert benchmark.accuracy(_log(tmp_path, empty), openimages, samples).line == "mAP=0.000%"
    perfect = [LogEntry(i, pack(i, _truth(openimages, i))) for i in (0, 1)]
    assert benchmark.accuracy(_log(tmp_path, perfect), openimages, samples).line == "mAP=100.000%"
    truth = _truth(openimages, 0)
    wrong = Detections(truth.boxes[::-1] * 0.5, truth.scores, truth.labels)  # same labels, boxes elsewhere
    reissued = [*perfect, LogEntry(0, pack(0, wrong))]  # LoadGen re-issued sample 0: only the first counts
    assert benchmark.accuracy(_log(tmp_path, reissued), openimages, samples).line == "mAP=100.000%"
    assert (
        benchmark.accuracy(_log(tmp_path, [LogEntry(0, pack(0, wrong)), perfect[1]]), openimages, samples).value < 100
    )
