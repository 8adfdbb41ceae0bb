"""RetinaNet and SSD-ResNet34 accuracy through `build.py run` in the real `cpu` image: ONNX Runtime, LoadGen and
pycocotools inside the container, on synthetic data whose mAP is known exactly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from msb.synthetic.detection import write_dataset
from msb.synthetic.detection_model import write_model
from tests.support import REPO

pytestmark = pytest.mark.docker


def detection_system(tmp_path: Path) -> Path:
    """The demo system with the two detection benchmarks added (Offline, ONNX Runtime on the CPU)."""
    data = yaml.safe_load((REPO / "systems" / "cpu-demo.yaml").read_text())
    for name in ("retinanet", "ssd-resnet34"):
        data["benchmarks"][name] = {
            "backend": "onnxruntime",
            "device": "cpu",
            "batch_size": 2,
            "threads": 2,
            "scenarios": {"Offline": {"target_qps": 10}},
        }
    data["benchmarks"]["ssd-resnet34"]["outside_round"] = True  # no v5.x round has it
    path = tmp_path / "detection.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    ("name", "relabel", "shift", "line"),
    [("retinanet", 2, 1, "mAP=75.000%"), ("ssd-resnet34", 1, 1, "mAP=85.000%")],
)
def test_detection_accuracy_in_the_image_is_exact(
    demo_image: str, tmp_path: Path, name: str, relabel: int, shift: int, line: str
) -> None:
    data = write_dataset(tmp_path / "data" / "dataset", name, 10, relabel=relabel, shift=shift)  # type: ignore[arg-type]
    model = write_model(tmp_path / "data" / "model" / f"{name}.onnx", name)  # type: ignore[arg-type]
    for path in [tmp_path / "data", *(tmp_path / "data").rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    experiment = tmp_path / "exp"
    result = subprocess.run(
        [sys.executable, "build.py", "run", "--system", str(detection_system(tmp_path)), "--benchmark", name,
         "--scenario", "Offline", "--mode", "accuracy", "--dataset", str(data.dataset_dir), "--model", str(model),
         "--experiment", str(experiment), "--image", demo_image],
        cwd=REPO, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    accuracy = experiment / "closed" / "MSB" / "results" / "cpu_demo" / name / "Offline" / "accuracy"
    assert (accuracy / "accuracy.txt").read_text().strip().splitlines()[-1] == line
