"""The synthetic ImageNet set and its classifier: exact labels after MLPerf preprocessing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.backends.onnxruntime import OnnxRuntimeBackend
from harness.benchmarks.resnet50 import ResNet50, read_val_map
from msb.synthetic.imagenet import PALETTE, write_dataset, write_model
from tests.support import REPO


def _predicted_labels(dataset: Path, model: Path) -> list[int]:
    benchmark = ResNet50()
    backend = OnnxRuntimeBackend(benchmark="resnet50", output_names=benchmark.output_names, threads=1)
    backend.load(model)
    samples = benchmark.list_samples(dataset, None)
    batch = np.stack([benchmark.preprocess(sample) for sample in samples])
    payloads = benchmark.postprocess(backend.infer(batch), [s.index for s in samples])
    return [int(np.frombuffer(payload, dtype=np.float32)[0]) for payload in payloads]


def test_the_model_finds_every_images_true_class_after_mlperf_preprocessing(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data", count=2 * len(PALETTE))
    model = write_model(tmp_path / "model.onnx")
    assert _predicted_labels(data.dataset_dir, model) == list(data.true_labels)
    assert len(set(data.true_labels)) == len(PALETTE)


def test_flipping_k_labels_makes_exactly_k_of_val_map_wrong(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data", count=10, flip=3)
    written = [label for _file, label in read_val_map(data.dataset_dir)]
    wrong = [i for i, (w, t) in enumerate(zip(written, data.true_labels, strict=True)) if w != t]
    assert wrong == [0, 1, 2]
    assert all(0 <= label < 1000 for label in written)


def test_bad_counts_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="flip"):
        write_dataset(tmp_path, count=3, flip=4)


def test_the_cli_writes_dataset_and_model(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "msb.synthetic.imagenet", str(tmp_path / "out"), "--count=5", "--flip=1"],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert "expected accuracy: 80.000%" in result.stdout
    assert len(read_val_map(tmp_path / "out" / "dataset")) == 5
    assert (tmp_path / "out" / "model.onnx").is_file()


def test_distinct_images_make_a_large_set_of_hard_links(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "d", 100, distinct=18)
    files = sorted((tmp_path / "d").glob("*.JPEG"))
    assert len(files) == 100
    assert len({f.stat().st_ino for f in files}) == 18
    labels = [line.split()[1] for line in (tmp_path / "d" / "val_map.txt").read_text().splitlines()]
    assert labels[99] == labels[99 % 18] and data.true_labels[40] == data.true_labels[40 % 18]


def test_work_makes_the_model_heavier_without_changing_its_answers(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "d", 18)
    light = OnnxRuntimeBackend(benchmark="resnet50", device="cpu", threads=1)
    light.load(write_model(tmp_path / "light.onnx"))
    heavy = OnnxRuntimeBackend(benchmark="resnet50", device="cpu", threads=1)
    heavy.load(write_model(tmp_path / "heavy.onnx", work=2))
    benchmark = ResNet50()
    batch = np.stack([benchmark.preprocess(s) for s in benchmark.list_samples(data.dataset_dir, None)])
    assert np.array_equal(light.infer(batch)[0], heavy.infer(batch)[0])
