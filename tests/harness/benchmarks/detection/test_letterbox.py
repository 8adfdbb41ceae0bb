"""YOLO preprocessing: Ultralytics' letterbox geometry at 640 (square and minimal), grey 114 padding, the image
placed and scaled where the geometry says, and the way back to original pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from harness.benchmarks.base import DatasetError
from harness.benchmarks.detection.letterbox import letterbox, letterbox_geometry, to_original
from harness.benchmarks.yolo import Yolo, anchor_count
from msb.synthetic.detection import write_dataset


@pytest.mark.parametrize(
    ("height", "width", "minimal", "expected"),
    [
        # 427x640 (COCO's common size) -> already 640 wide; pad 213 split 106 / 107, or 21 -> 10 / 11.
        (427, 640, False, (640, 640, 427, 640, 106, 0)),
        (427, 640, True, (448, 640, 427, 640, 10, 0)),
        # 96 tall, 64 wide: scale 6.667, width round(426.67) = 427, pad 213 on x.
        (96, 64, False, (640, 640, 640, 427, 0, 106)),
        (96, 64, True, (640, 448, 640, 427, 0, 10)),
        # 60x80 scales by 8 to 480x640: pad 160 -> 80 / 80; minimal: 160 % 32 = 0, no padding at all.
        (60, 80, False, (640, 640, 480, 640, 80, 0)),
        (60, 80, True, (480, 640, 480, 640, 0, 0)),
        # larger than 640: scaled down.
        (1280, 960, False, (640, 640, 640, 480, 0, 80)),
    ],
)
def test_geometry(height: int, width: int, minimal: bool, expected: tuple[int, ...]) -> None:
    box = letterbox_geometry(height, width, 640, minimal)
    got = (box.input_height, box.input_width, box.resized_height, box.resized_width, box.top, box.left)
    assert got == expected
    if minimal:
        assert box.input_height % 32 == 0 and box.input_width % 32 == 0


def test_padding_is_grey_114_and_the_image_is_scaled_into_place() -> None:
    pixels = np.zeros((60, 40, 3), np.float32)
    pixels[:, :20] = 200.0  # left half bright, right half black
    box = letterbox_geometry(60, 40, 640, minimal=False)
    out = letterbox(pixels, box)
    assert out.shape == (640, 640, 3)
    assert box.left == 106 and box.resized_width == 427  # pad 213 -> 106.5: round(106.4) before, round(106.6) after
    assert np.all(out[:, :106] == 114) and np.all(out[:, 106 + 427 :] == 114)
    assert np.all(out[:, 106:300] == 200) and np.all(out[:, 330:533] == 0)
    assert np.array_equal(out, np.rint(out))  # whole 8-bit levels, as OpenCV's resize of 8-bit images gives


def test_way_back_to_original_pixels() -> None:
    box = letterbox_geometry(427, 640, 640, minimal=False)
    inside = np.array([[100.0, 106.0 + 50.0, 300.0, 106.0 + 200.0]], np.float32)
    assert np.allclose(to_original(inside, box), [[100.0, 50.0, 300.0, 200.0]], atol=1e-4)
    outside = np.array([[-20.0, 0.0, 700.0, 640.0]], np.float32)  # into the padding: clipped to the image
    assert np.allclose(to_original(outside, box), [[0.0, 0.0, 640.0, 427.0]])


def test_preprocess_is_rgb_over_255_chw(tmp_path: Path) -> None:
    data = write_dataset(tmp_path, "yolo", 10)
    benchmark = Yolo("yolo-99")
    samples = benchmark.list_samples(data.dataset_dir, None)
    sample = samples[0]
    tensor = benchmark.preprocess(sample)
    assert tensor.shape == (3, 640, 640) and tensor.dtype == np.float32
    assert np.isclose(tensor[:, 0, 0], 114 / 255).all() or np.isclose(tensor[:, 320, 0], 114 / 255).all()
    minimal = Yolo("yolo-99", padding="minimal")
    minimal.list_samples(data.dataset_dir, None)
    assert minimal.preprocess(sample).shape[1:] == tuple(
        getattr(minimal.geometry(0), name) for name in ("input_height", "input_width")
    )
    assert minimal.preprocessing_version != benchmark.preprocessing_version  # separate caches


def test_image_of_another_size_than_annotated_is_refused(tmp_path: Path) -> None:
    data = write_dataset(tmp_path, "yolo", 10)
    benchmark = Yolo("yolo-95")
    sample = benchmark.list_samples(data.dataset_dir, None)[0]
    Image.new("RGB", (33, 17)).save(sample.path, format="PNG")
    with pytest.raises(DatasetError, match="33x17 pixels"):
        benchmark.preprocess(sample)


def test_anchor_count_of_the_head() -> None:
    assert anchor_count(640, 640) == 8400 and anchor_count(480, 640) == 6300


def test_unknown_padding_is_refused() -> None:
    with pytest.raises(ValueError, match="padding='stretch'"):
        Yolo("yolo-99", padding="stretch")  # type: ignore[arg-type]
