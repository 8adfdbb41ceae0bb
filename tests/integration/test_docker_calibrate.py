"""`build.py calibrate` end to end in the real `cpu` image: ONNX Runtime's static quantization of the synthetic
classifier passes its gate at the exact accuracy and the INT8 model runs accuracy and performance; a calibration set of
one flat image fails the gate with both figures, and `build.py run` then refuses that artefact."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from msb.synthetic.imagenet import write_calibration_list, write_dataset, write_model
from tests.support import REPO

SYSTEM = "cpu-demo-v61-int8"
RESULTS = Path("closed/MSB/results/cpu_demo_int8/resnet50/Offline")

pytestmark = pytest.mark.docker


def build_py(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "build.py", *args], cwd=REPO, capture_output=True, text=True, timeout=900, check=False
    )


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("calibrate")
    write_dataset(root / "dataset", 45)
    write_model(root / "model" / "model.onnx")
    (root / "lists").mkdir()
    write_calibration_list(root / "dataset", root / "lists" / "calibration_list.txt")
    flat = root / "flat"
    flat.mkdir()
    Image.new("RGB", (64, 64), (128, 128, 128)).save(flat / "grey.JPEG")
    (flat / "list.txt").write_text("grey.JPEG\n")
    (root / "broken").mkdir()
    for path in [root, *root.rglob("*")]:  # the container's unprivileged uid reads them
        path.chmod(0o755 if path.is_dir() else 0o644)
    return root


def calibrate(root: Path, image: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return build_py(
        "calibrate", "--system", SYSTEM, "--benchmark", "resnet50", "--model", str(root / "model" / "model.onnx"),
        "--dataset", str(root / "dataset"), "--experiment", str(root / "experiment"), "--image", image, *extra,
    )  # fmt: skip


def run(root: Path, image: str, model: Path, mode: str) -> subprocess.CompletedProcess[str]:
    return build_py(
        "run", "--system", SYSTEM, "--benchmark", "resnet50", "--scenario", "Offline", "--mode", mode,
        "--dataset", str(root / "dataset"), "--model", str(model), "--experiment", str(root / "experiment"),
        "--image", image,
    )  # fmt: skip


def test_calibrated_int8_model_passes_the_gate_and_runs_accuracy_and_performance(
    synthetic: Path, cpu_image: str
) -> None:
    result = calibrate(synthetic, cpu_image, "--calibration-list", str(synthetic / "lists" / "calibration_list.txt"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "int8 100.000% vs fp32 100.000%" in result.stderr
    artefact = synthetic / "model" / "model.int8.onnx"
    record = json.loads((synthetic / "model" / "model.int8.onnx.json").read_text())
    assert artefact.is_file() and record["outcome"] == "placed"
    assert record["gate"]["int8_line"] == record["gate"]["fp32_line"] == "accuracy=100.000%, good=27, total=27"
    assert record["model"] == str(synthetic / "model" / "model.onnx")
    assert record["tools"]["onnxruntime"] == "1.32.0"

    accuracy = run(synthetic, cpu_image, artefact, "accuracy")
    assert accuracy.returncode == 0, accuracy.stderr[-3000:]
    line = (synthetic / "experiment" / RESULTS / "accuracy" / "accuracy.txt").read_text()
    assert line.startswith("accuracy=100.000%, good=45, total=45")
    performance = run(synthetic, cpu_image, artefact, "performance")
    assert performance.returncode == 0, performance.stderr[-3000:]
    summary = (synthetic / "experiment" / RESULTS / "performance" / "run_1" / "mlperf_log_summary.txt").read_text()
    assert "Samples per second" in summary
    assert "int8" in (synthetic / "experiment" / RESULTS / "README.md").read_text()


def test_a_broken_calibration_fails_the_gate_and_run_refuses_it(synthetic: Path, cpu_image: str) -> None:
    broken = synthetic / "broken"
    result = calibrate(
        synthetic, cpu_image, "--calibration-list", str(synthetic / "flat" / "list.txt"),
        "--calibration-dataset", str(synthetic / "flat"), "--output", str(broken),
    )  # fmt: skip
    assert result.returncode == 1, result.stderr[-3000:]
    assert "gate failed" in result.stderr and "fp32 100.000%" in result.stderr and "int8 " in result.stderr
    assert (broken / "model.int8.onnx").is_file()
    refused = run(synthetic, cpu_image, broken / "model.int8.onnx", "accuracy")
    assert refused.returncode == 2
    assert "failed its accuracy gate" in refused.stderr and "fp32 100.000%" in refused.stderr
