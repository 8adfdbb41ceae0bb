"""The images a calibration list names, found in the dataset (or beside it), and the held-out images the gate scores.

A list is data; the images it names must all be found before anything is calibrated, and a missing one is named.
"""

from __future__ import annotations

from pathlib import Path

from harness.backends.calibration_list import CalibrationError
from harness.benchmarks.base import Sample

_SHOWN = 5  # missing names quoted in an error; the rest are counted


def find_listed(names: list[str], image_dir: Path, dataset: list[Sample], list_path: Path) -> list[Sample]:
    """The listed images as samples: a dataset sample whose key (or its file name) is the listed name, else the file
    `image_dir/name`. Every missing image is an error naming the first few."""
    by_name: dict[str, Sample] = {}
    for item in dataset:
        by_name.setdefault(Path(item.key).name, item)
        by_name[item.key] = item
    found: list[Sample] = []
    missing: list[str] = []
    for position, name in enumerate(names):
        sample: Sample | None = by_name.get(name)
        if sample is None and (image_dir / name).is_file():
            sample = Sample(index=position, path=image_dir / name, key=name)
        if sample is None:
            missing.append(name)
        else:
            found.append(sample)
    if missing:
        shown = ", ".join(missing[:_SHOWN]) + (f" and {len(missing) - _SHOWN} more" if len(missing) > _SHOWN else "")
        raise CalibrationError(
            f"calibration list {list_path} names {len(missing)} of its {len(names)} images that are not in "
            f"{image_dir}: {shown}; pass the dataset the list was made for (--calibration-dataset DIR for a separate "
            "calibration set), or a list of images it holds (--calibration-list FILE)"
        )
    return found


def held_out(dataset: list[Sample], calibration: list[Sample], count: int) -> list[Sample]:
    """The first `count` dataset samples that are not calibration images: the gate never scores its own calibration."""
    used = {sample.path.resolve() for sample in calibration}
    return [sample for sample in dataset if sample.path.resolve() not in used][:count]
