"""The run matrix end to end on the real `cpu` image: accuracy, performance, TEST01 and TEST04 of one scenario
into the tree, truncated accuracy logs with their full copies outside it, calibration.md, a resumed matrix that
skips everything, and a failed run that stops the matrix without losing what was placed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from msb.descriptions.rounds import load_round
from msb.submission.check import check_tree
from msb.submission.truncate import file_sha256, recorded_hash
from msb.synthetic.imagenet import write_dataset, write_model
from tests.support import REPO

ROOT = Path("closed/MSB")
SCENARIO_DIR = Path("cpu_demo/resnet50/Offline")
COUNT = 192  # enough that the accuracy log exceeds what truncation keeps

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("matrix")
    write_dataset(root / "dataset", COUNT)
    model = write_model(root / "model" / "model.onnx")
    for path in [root, *root.rglob("*")]:  # the container's unprivileged uid reads them
        path.chmod(0o755 if path.is_dir() else 0o644)
    system = yaml.safe_load((REPO / "systems" / "cpu-demo.yaml").read_text())
    system["benchmarks"]["resnet50"]["scenarios"] = {
        "Offline": {"target_qps": 6000, "min_duration_ms": 1000, "min_query_count": 1}
    }
    (root / "tiny.yaml").write_text(yaml.safe_dump(system))
    return root / "tiny.yaml", root / "dataset", model


def matrix(inputs: tuple[Path, Path, Path], experiment: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    system, dataset, model = inputs
    return subprocess.run(
        [sys.executable, "build.py", "run", "--system", str(system), "--scenario", "Offline",
         "--dataset", str(dataset), "--model", str(model), "--experiment", str(experiment),
         "--count", str(COUNT), *extra],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def test_matrix_fills_the_tree_resumes_and_keeps_results_on_failure(
    demo_image: str, inputs: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    experiment = tmp_path / "exp"
    first = matrix(inputs, experiment, "--image", demo_image)
    assert first.returncode == 0, first.stderr[-3000:]
    for kind in ("accuracy", "performance", "TEST01", "TEST04"):
        assert f"cpu_demo-resnet50-Offline-{kind}: done" in first.stderr
        assert (experiment / ".msb" / "logs" / f"cpu_demo-resnet50-Offline-{kind}.log").is_file()

    accuracy = experiment / ROOT / "results" / SCENARIO_DIR / "accuracy"
    test01 = experiment / ROOT / "compliance" / SCENARIO_DIR / "TEST01"
    for directory in (accuracy, test01 / "accuracy"):
        backup = experiment / ".msb" / "full-accuracy-logs" / directory.relative_to(experiment)
        full = backup / "mlperf_log_accuracy.json"
        assert recorded_hash(directory / "accuracy.txt") == file_sha256(full)
        assert (directory / "mlperf_log_accuracy.json").stat().st_size <= 10240 < full.stat().st_size
    assert (accuracy / "accuracy.txt").read_text().startswith(f"accuracy=100.000%, good={COUNT}, total={COUNT}")
    assert (test01 / "verify_accuracy.txt").read_text().count("TEST PASS") == 1
    assert (experiment / ROOT / "compliance" / SCENARIO_DIR / "TEST04" / "verify_performance.txt").is_file()
    assert "no calibration and no quantisation" in (experiment / ROOT / "calibration.md").read_text()

    findings = check_tree(experiment, load_round("v5.1"))
    about_files = [f for f in findings if "missing" in f.message and "required scenario" not in f.message]
    about_files += [f for f in findings if "truncat" in f.message or "not expected here" in f.message]
    assert about_files == [], about_files
    # What remains is what shortened runs on a slice of the matrix must show.
    assert any("shortened run" in f.message for f in findings)

    second = matrix(inputs, experiment, "--image", demo_image)
    assert second.returncode == 0, second.stderr[-3000:]
    assert second.stderr.count(": skipped") == 4 and "0 run(s) done, 4 skipped" in second.stderr

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model.onnx").write_bytes(b"not an onnx model")
    broken.chmod(0o755)
    (broken / "model.onnx").chmod(0o644)
    system, dataset, _ = inputs
    third = matrix((system, dataset, broken / "model.onnx"), experiment, "--force", "--image", demo_image)
    assert third.returncode == 1
    assert "1 failed, 3 not started" in third.stderr and "cpu_demo-resnet50-Offline-accuracy failed" in third.stderr
    state = json.loads((experiment / ".msb" / "state" / "cpu_demo-resnet50-Offline-accuracy.json").read_text())
    assert state["state"] == "failed"
    assert recorded_hash(accuracy / "accuracy.txt")  # the earlier, truncated result is still in place
    assert (experiment / ROOT / "results" / SCENARIO_DIR / "performance" / "run_1" / "mlperf_log_summary.txt").is_file()


def test_find_peak_writes_the_value_found_into_the_system_description(
    demo_image: str, inputs: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    system, dataset, model = inputs
    copy = tmp_path / "system.yaml"
    copy.write_text("# a comment that must survive\n" + system.read_text())
    result = subprocess.run(
        [sys.executable, "build.py", "find-peak", "--system", str(copy), "--benchmark", "resnet50",
         "--image", demo_image, "--scenario", "Offline", "--dataset", str(dataset), "--model", str(model),
         "--experiment", str(tmp_path / "exp"), "--count", "32"],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    found = float(result.stdout.splitlines()[-1].removeprefix("peak: target_qps="))
    before, after = system.read_text().splitlines(), copy.read_text().splitlines()[1:]
    # Only the target_qps line may differ (it may also be unchanged, when the peak equals the old value).
    assert [a for a in before if "target_qps" not in a] == [b for b in after if "target_qps" not in b]
    assert copy.read_text().startswith("# a comment that must survive\n")
    assert yaml.safe_load(copy.read_text())["benchmarks"]["resnet50"]["scenarios"]["Offline"]["target_qps"] == found


def test_an_open_division_system_fills_open_resumes_and_passes_our_checker(
    demo_image: str, inputs: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    system, dataset, model = inputs
    description = yaml.safe_load(system.read_text())
    description["division"] = "open"
    open_system = tmp_path / "open.yaml"
    open_system.write_text(yaml.safe_dump(description))
    experiment = tmp_path / "exp"
    first = matrix((open_system, dataset, model), experiment, "--image", demo_image)
    assert first.returncode == 0, first.stderr[-3000:]
    assert not (experiment / "closed").exists()
    assert (experiment / "open/MSB/results" / SCENARIO_DIR / "accuracy" / "accuracy.txt").is_file()
    assert (experiment / "open/MSB/systems/cpu_demo.json").is_file()
    assert json.loads((experiment / "open/MSB/systems/cpu_demo.json").read_text())["division"] == "open"
    second = matrix((open_system, dataset, model), experiment, "--image", demo_image)
    assert "0 run(s) done, 4 skipped" in second.stderr, second.stderr[-3000:]
    findings = check_tree(experiment, load_round("v5.1"))
    # The open division's tree is complete: all that remains is what shortened runs on a slice must show.
    structural = [f for f in findings if "missing" in f.message and "required scenario" not in f.message]
    structural += [f for f in findings if "truncat" in f.message or "not expected here" in f.message]
    assert structural == [], structural
