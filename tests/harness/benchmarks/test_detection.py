"""`python -m harness run` in accuracy mode for the detection benchmarks: real LoadGen, ONNX Runtime and
pycocotools on synthetic data with a known mAP; and refusals of models that do not fit the benchmark."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from harness.benchmarks.detection.payload import LogEntry, write_accuracy_log
from harness.benchmarks.ssd_resnet34 import SsdResNet34
from msb.synthetic.detection import write_dataset
from msb.synthetic.detection_model import write_model
from tests.support import REPO

COUNT = 10


def harness_run(
    benchmark: str, dataset: Path, model: Path, output: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "harness",
            "run",
            f"--benchmark={benchmark}",
            "--scenario=Offline",
            "--mode=accuracy",
            "--dataset",
            str(dataset),
            "--model",
            str(model),
            "--backend=onnxruntime",
            "--output",
            str(output),
            "--submitter=ACME",
            "--system=host_cpu",
            "--threads=1",
            "--batch-size=4",
            *(["--allow-root"] if os.geteuid() == 0 else []),  # CI runs as root; the harness refuses it by default
            *extra,
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("name", "relabel", "shift", "line"),
    [("retinanet", 2, 1, "mAP=75.000%"), ("ssd-resnet34", 1, 1, "mAP=85.000%")],
)
def test_accuracy_run_writes_the_exact_map(tmp_path: Path, name: str, relabel: int, shift: int, line: str) -> None:
    data = write_dataset(tmp_path / "dataset", name, COUNT, relabel=relabel, shift=shift, empty_images=1)
    model = write_model(tmp_path / "model.onnx", name)
    result = harness_run(name, data.dataset_dir, model, tmp_path / "out")
    assert result.returncode == 0, result.stderr
    accuracy = tmp_path / "out/closed/ACME/results/host_cpu" / name / "Offline/accuracy"
    assert (accuracy / "accuracy.txt").read_text().strip().splitlines()[-1] == line
    assert (accuracy / "mlperf_log_accuracy.json").stat().st_size > 0


def test_short_run_covers_the_first_images(tmp_path: Path) -> None:
    """--count 3: LoadGen issues samples 0..2 only and the mAP is the one of those images."""
    data = write_dataset(tmp_path / "dataset", "ssd-resnet34", COUNT, relabel=3)
    model = write_model(tmp_path / "model.onnx", "ssd-resnet34")
    result = harness_run("ssd-resnet34", data.dataset_dir, model, tmp_path / "out", "--count=3")
    assert result.returncode == 0, result.stderr
    accuracy = tmp_path / "out/closed/ACME/results/host_cpu/ssd-resnet34/Offline/accuracy"
    log = json.loads((accuracy / "mlperf_log_accuracy.json").read_text())
    assert sorted({entry["qsl_idx"] for entry in log}) == [0, 1, 2]
    benchmark = SsdResNet34()  # the same three images without LoadGen
    samples = benchmark.list_samples(data.dataset_dir, 3)
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    outputs = session.run(list(benchmark.output_names), {"image": np.stack([benchmark.preprocess(s) for s in samples])})
    write_accuracy_log(
        tmp_path / "direct.json", [LogEntry(i, p) for i, p in enumerate(benchmark.postprocess(outputs, [0, 1, 2]))]
    )
    expected = benchmark.accuracy(tmp_path / "direct.json", data.dataset_dir, samples).line
    assert (accuracy / "accuracy.txt").read_text().strip().splitlines()[-1] == expected


def test_model_with_other_output_names_is_refused(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "dataset", "ssd-resnet34", COUNT)
    model = write_model(tmp_path / "retinanet.onnx", "retinanet")  # outputs boxes/labels/scores, not bboxes
    result = harness_run("ssd-resnet34", data.dataset_dir, model, tmp_path / "out")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "bboxes" in result.stderr and str(model) in result.stderr


def test_model_with_other_input_size_is_refused(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "dataset", "ssd-resnet34", COUNT)
    model = onnx.load(str(write_model(tmp_path / "m.onnx", "retinanet")))  # 800x800 input
    renames = {"images": "image", "boxes": "bboxes"}  # SSD-ResNet34's names, RetinaNet's input size
    for value in [*model.graph.input, *model.graph.output]:
        value.name = renames.get(value.name, value.name)
    for node in model.graph.node:
        node.input[:] = [renames.get(name, name) for name in node.input]
        node.output[:] = [renames.get(name, name) for name in node.output]
    onnx.save(model, str(tmp_path / "wrong_size.onnx"))
    result = harness_run("ssd-resnet34", data.dataset_dir, tmp_path / "wrong_size.onnx", tmp_path / "out")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "1200" in result.stderr and "800" in result.stderr
