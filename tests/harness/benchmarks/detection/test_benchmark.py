"""Detection end to end without LoadGen: synthetic dataset -> MLPerf preprocessing -> ONNX Runtime ->
postprocessing -> accuracy-log records (LoadGen's JSON layout) -> pycocotools -> the official mAP line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from harness.benchmarks.detection.benchmark import DetectionBenchmark
from harness.benchmarks.detection.payload import LogEntry, write_accuracy_log
from harness.benchmarks.retinanet import RetinaNet
from harness.benchmarks.ssd_resnet34 import SsdResNet34
from msb.synthetic.detection import write_dataset
from msb.synthetic.detection_model import write_model

COUNT = 10  # images with objects; one per synthetic category at least


def score_end_to_end(benchmark: DetectionBenchmark, dataset_dir: Path, model: Path, log: Path, batch: int = 2) -> str:
    samples = benchmark.list_samples(dataset_dir, None)
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    entries = []
    for start in range(0, len(samples), batch):
        chunk = samples[start : start + batch]
        inputs = np.stack([benchmark.preprocess(sample) for sample in chunk])
        assert inputs.shape[1:] == benchmark.input_shape
        outputs = session.run(list(benchmark.output_names), {session.get_inputs()[0].name: inputs})
        payloads = benchmark.postprocess(outputs, [sample.index for sample in chunk])
        entries += [LogEntry(sample.index, payload) for sample, payload in zip(chunk, payloads, strict=True)]
    write_accuracy_log(log, entries)
    return benchmark.accuracy(log, dataset_dir, samples).line


@pytest.mark.parametrize(
    ("name", "outputs", "relabel", "shift", "line"),
    [
        ("retinanet", "detections", 0, 0, "mAP=100.000%"),
        ("retinanet", "detections", 2, 1, "mAP=75.000%"),
        ("retinanet", "heads", 1, 2, "mAP=80.000%"),
        ("ssd-resnet34", "detections", 0, 0, "mAP=100.000%"),
        ("ssd-resnet34", "detections", 1, 3, "mAP=75.000%"),
        ("ssd-resnet34", "heads", 0, 0, "mAP=100.000%"),
        ("ssd-resnet34", "heads", 1, 1, "mAP=85.000%"),
    ],
)
def test_exact_map(tmp_path: Path, name: str, outputs: str, relabel: int, shift: int, line: str) -> None:
    data = write_dataset(tmp_path / "dataset", name, COUNT, relabel=relabel, shift=shift, empty_images=1)
    model = write_model(tmp_path / "model.onnx", name, outputs)
    benchmark = RetinaNet(outputs) if name == "retinanet" else SsdResNet34(outputs)
    assert f"mAP={data.expected_map:.3f}%" == line
    assert score_end_to_end(benchmark, data.dataset_dir, model, tmp_path / "log.json") == line


def test_remove_empty_images_lists_only_annotated_images(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "dataset", "ssd-resnet34", COUNT, empty_images=3)
    model = write_model(tmp_path / "model.onnx", "ssd-resnet34")
    benchmark = SsdResNet34(remove_empty_images=True)
    assert len(benchmark.list_samples(data.dataset_dir, None)) == COUNT
    assert len(SsdResNet34().list_samples(data.dataset_dir, None)) == COUNT + 3
    assert score_end_to_end(benchmark, data.dataset_dir, model, tmp_path / "log.json") == "mAP=100.000%"


def test_short_run_scores_only_the_first_images(tmp_path: Path) -> None:
    """--count N: the log covers the first N images and pycocotools evaluates only those."""
    data = write_dataset(tmp_path / "dataset", "retinanet", COUNT, relabel=3)
    model = write_model(tmp_path / "model.onnx", "retinanet")
    benchmark = RetinaNet()
    samples = benchmark.list_samples(data.dataset_dir, 2)
    assert [sample.index for sample in samples] == [0, 1]
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    inputs = np.stack([benchmark.preprocess(sample) for sample in samples])
    payloads = benchmark.postprocess(session.run(list(benchmark.output_names), {"images": inputs}), [0, 1])
    write_accuracy_log(tmp_path / "log.json", [LogEntry(i, p) for i, p in enumerate(payloads)])
    report = benchmark.accuracy(tmp_path / "log.json", data.dataset_dir, samples)
    # Images 0 and 1 hold the relabelled categories 0 and 1 first: not 100%, and computed over 2 images only.
    assert report.metric == "mAP"
    assert report.line == f"mAP={report.value:.3f}%"
    assert report.value < 100.0
