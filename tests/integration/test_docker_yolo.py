"""YOLO in round v6.1 end to end on the real `cpu` image (LoadGen 6.0.17): `build.py run` of the demo machine's
v6.1 description writes the v6 tree with the exact mAP of the synthetic detector, and the round's seeds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from msb.synthetic.detection import write_dataset
from msb.synthetic.yolo import write_model
from tests.support import REPO

COUNT = 10
SCENARIO = "open/MSB/results/cpu_demo/yolo-99/Offline"

pytestmark = pytest.mark.docker


@pytest.mark.parametrize(("relabel", "shift", "line"), [(0, 0, "mAP=100.000%"), (1, 1, "mAP=")])
def test_yolo_accuracy_in_the_v61_tree(cpu_image: str, tmp_path: Path, relabel: int, shift: int, line: str) -> None:
    data = write_dataset(tmp_path / "data" / "dataset", "yolo", COUNT, relabel=relabel, shift=shift)
    model = write_model(tmp_path / "data" / "model.onnx")
    for path in [tmp_path, *tmp_path.rglob("*")]:  # the container's unprivileged uid reads them
        path.chmod(0o755 if path.is_dir() else 0o644)
    system = (REPO / "systems" / "cpu-demo-v61.yaml").read_text().replace("division: closed", "division: open")
    (tmp_path / "v61.yaml").write_text(system)
    result = subprocess.run(
        [sys.executable, "build.py", "run", "--system", str(tmp_path / "v61.yaml"), "--benchmark", "yolo-99",
         "--scenario", "Offline", "--mode", "accuracy", "--dataset", str(data.dataset_dir), "--model", str(model),
         "--experiment", str(tmp_path / "exp"), "--image", cpu_image],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    accuracy = (tmp_path / "exp" / SCENARIO / "accuracy" / "accuracy.txt").read_text().strip().splitlines()[-1]
    assert accuracy.startswith(line) and f"{data.expected_map:.3f}%" in accuracy
    # The v6 layout: the scenario's description files beside its results, src/ for the code.
    for name in ("measurements.json", "user.conf", "README.md"):
        assert (tmp_path / "exp" / SCENARIO / name).is_file()
    assert (tmp_path / "exp" / "open/MSB/src").is_dir()
    record = json.loads((tmp_path / "exp/.msb/manifests" / SCENARIO / "accuracy.json").read_text())
    assert record["loadgen"]["loadgen_version"].startswith("6.0.17")
    assert record["loadgen"]["seeds"]["qsl_rng_seed"] == 2085463073848966840
