"""ResNet-50 (harness/benchmarks/resnet50.py): preprocessing, postprocessing and scoring."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from harness.benchmarks.base import Sample
from harness.benchmarks.resnet50 import ResNet50

RED, BLUE = (200, 10, 10), (10, 10, 200)


MEANS = np.array([123.68, 116.78, 103.94], dtype=np.float32)


def test_preprocessing_resizes_the_shorter_side_to_256_and_crops_the_centre(tmp_path: Path) -> None:
    # 300x150, red left half, blue right half: resized to 512x256, the crop spans columns 144..368,
    # so the red/blue edge (column 256) sits at crop column 112.
    pixels = np.empty((150, 300, 3), dtype=np.uint8)
    pixels[:, :150], pixels[:, 150:] = RED, BLUE
    path = tmp_path / "split.png"  # lossless, so values are exact
    Image.fromarray(pixels).save(path)
    out = ResNet50().preprocess(Sample(0, path, "split.png"))
    assert out.shape == (3, 224, 224) and out.dtype == np.float32
    left, right = out[:, :, :110], out[:, :, 114:]
    np.testing.assert_allclose(left, np.broadcast_to((np.array(RED) - MEANS)[:, None, None], left.shape))
    np.testing.assert_allclose(right, np.broadcast_to((np.array(BLUE) - MEANS)[:, None, None], right.shape))


def test_postprocess_turns_mlperf_argmax_into_float32_imagenet_labels() -> None:
    payloads = ResNet50().postprocess([np.array([1, 1000, 66], dtype=np.int64)], [0, 1, 2])
    assert [np.frombuffer(p, dtype=np.float32)[0] for p in payloads] == [0.0, 999.0, 65.0]
    scores = np.zeros((1, 1001), dtype=np.float32)
    scores[0, 5] = 1.0
    (payload,) = ResNet50().postprocess([scores], [0])
    assert np.frombuffer(payload, dtype=np.float32)[0] == 4.0


def test_accuracy_counts_each_sample_once_and_words_it_like_the_official_script(tmp_path: Path) -> None:
    (tmp_path / "val_map.txt").write_text("a.JPEG 3\nb.JPEG 7\nc.JPEG 9\n")

    def entry(index: int, label: float) -> dict[str, object]:
        return {"seq_id": index, "qsl_idx": index, "data": np.float32(label).tobytes().hex().upper()}

    log = tmp_path / "mlperf_log_accuracy.json"
    log.write_text(json.dumps([entry(0, 3), entry(1, 1), entry(0, 5), entry(2, 9)]))
    samples = [Sample(i, tmp_path / k, k) for i, k in enumerate(["a.JPEG", "b.JPEG", "c.JPEG"])]
    report = ResNet50().accuracy(log, tmp_path, samples)
    assert report.line == "accuracy=66.667%, good=2, total=3"
