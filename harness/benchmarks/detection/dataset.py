"""Detection dataset layouts and their sample lists in QSL order.

OpenImages-MLPerf (tools/openimages_mlperf.sh): `<dir>/annotations/openimages-mlperf.json` and the images in
`<dir>/validation/data/`. COCO 2017: `<dir>/annotations/instances_val2017.json` and `<dir>/val2017/`. COCO 2017 safe
(MLPerf's YOLO subset, 1,525 images under licences MLCommons may redistribute, yolo/README.md):
`<dir>/annotations/instances_val2017.json` filtered to those images, and `<dir>/val2017_safe/`.
The QSL index of an image is its position in the annotation file's image list (see cocoeval.image_map), so
every listed image must be present: a missing one would shift all later indices against the scorer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pycocotools.coco import COCO

from harness.benchmarks.base import DatasetError, Sample
from harness.benchmarks.detection.cocoeval import image_map, load_ground_truth


@dataclass(frozen=True)
class DatasetLayout:
    """Where a detection dataset keeps its annotation file and images, relative to the dataset folder."""

    name: str
    annotations: str
    images: str


OPENIMAGES_MLPERF = DatasetLayout(
    name="OpenImages-MLPerf", annotations="annotations/openimages-mlperf.json", images="validation/data"
)
COCO_2017 = DatasetLayout(name="COCO 2017 val", annotations="annotations/instances_val2017.json", images="val2017")
COCO_2017_SAFE = DatasetLayout(
    name="COCO 2017 val safe (1,525 images)", annotations="annotations/instances_val2017.json", images="val2017_safe"
)
# COCO's 80 detection classes, in the contiguous order YOLO models use, as the 91-numbered category ids of the
# annotation files (the ids 12, 26, 29, 30, 45, 66, 68, 69, 71, 83 and 91 have no boxes).
COCO_80_TO_91: tuple[int, ...] = (
    *range(1, 12),
    *range(13, 26),
    27,
    28,
    *range(31, 45),
    *range(46, 66),
    67,
    70,
    *range(72, 83),
    *range(84, 91),
)


def ground_truth(layout: DatasetLayout, dataset_dir: Path) -> COCO:
    if not dataset_dir.is_dir():
        raise DatasetError(
            f"dataset directory {dataset_dir} does not exist; "
            f"pass --dataset DIR holding {layout.annotations} "
            f"and {layout.images}/"
        )
    try:
        return load_ground_truth(dataset_dir / layout.annotations)
    except ValueError as error:
        raise DatasetError(f"{error} ({layout.name} layout: {layout.annotations}, {layout.images}/)") from error


def list_samples(
    layout: DatasetLayout, dataset_dir: Path, count: int | None, remove_empty_images: bool = False
) -> list[Sample]:
    """The first `count` images (all if None) in QSL order, each checked to exist."""
    images = image_map(ground_truth(layout, dataset_dir), remove_empty_images)
    if not images:
        raise DatasetError(f"{dataset_dir / layout.annotations} lists no images; the dataset is empty")
    if count is not None:
        if count < 1 or count > len(images):
            raise DatasetError(
                f"--count {count} must be between 1 and the {len(images)} images listed in "
                f"{dataset_dir / layout.annotations}"
            )
        images = images[:count]
    samples = []
    for index, image in enumerate(images):
        key = f"{layout.images}/{image['file_name']}"
        path = dataset_dir / key
        if not path.is_file():
            raise DatasetError(
                f"{path} is listed in {layout.annotations} (image id {image['id']}) but missing: the "
                "annotations do not match the image folder; restore the image or use the matching annotations"
            )
        samples.append(Sample(index=index, path=path, key=key))
    return samples
