"""`python -m harness run --round v6.1` on the host writes the v6 tree: a scenario's description files, results and
compliance tests all in its results folder, the code in src/. Real LoadGen (5.1.2: its seeds are v5.1's, which does
not matter for where files go), real ONNX Runtime, synthetic ImageNet; runs shortened."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from msb.synthetic.imagenet import write_dataset, write_model

REPO = Path(__file__).resolve().parents[1]
AUDIT = Path("/work/shared/mlperf-reference-data/v6.1/compliance")
COUNT = 16
SCENARIO = "SingleStream"
SHORT = ["--threads=1", "--min-duration-ms=300", "--min-query-count=100", "--target-latency-ms=0.05"]
SUBMITTER = Path("closed") / "ACME"
SCENARIO_DIR = SUBMITTER / "results" / "host_cpu" / "resnet50" / SCENARIO

pytestmark = pytest.mark.skipif(not AUDIT.is_dir(), reason="round reference data not present")


def harness(output: Path, data: Path, mode: str, *extra: str | Path, round_name: str = "v6.1") -> None:
    args = [
        "run",
        "--benchmark=resnet50",
        f"--scenario={SCENARIO}",
        f"--mode={mode}",
        f"--dataset={data / 'dataset'}",
        f"--model={data / 'model.onnx'}",
        "--backend=onnxruntime",
        f"--output={output}",
        f"--round={round_name}",
        "--submitter=ACME",
        "--system=host_cpu",
        f"--cache-dir={data / 'cache'}",
        *SHORT,
        *map(str, extra),
    ]
    if os.geteuid() == 0:
        args.append("--allow-root")
    result = subprocess.run(
        [sys.executable, "-m", "harness", *args],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    # 3: a compliance test placed but failed verification (shortened runs may); its files are placed all the same.
    assert result.returncode in (0, 3), result.stderr


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("v6")
    write_dataset(root / "dataset", COUNT)
    write_model(root / "model.onnx")
    return root


@pytest.fixture(scope="module")
def experiment(data: Path) -> Path:
    """Accuracy, performance, TEST01 and TEST04 of one scenario, in the order the run matrix does them."""
    output = data / "experiment"
    system_json = data / "system.json"
    system_json.write_text(json.dumps({"system_name": "host"}))
    harness(output, data, "accuracy", "--system-json", system_json)
    harness(output, data, "performance")
    for test, audit in (("TEST01", AUDIT / "TEST01" / "resnet50"), ("TEST04", AUDIT / "TEST04")):
        harness(output, data, "performance", f"--compliance={test}", f"--audit-config={audit / 'audit.config'}")
    return output


def test_a_scenario_holds_its_description_results_and_compliance_tests(experiment: Path) -> None:
    scenario = experiment / SCENARIO_DIR
    assert sorted(p.name for p in scenario.iterdir()) == [
        "README.md",
        "TEST01",
        "TEST04",
        "accuracy",
        "measurements.json",
        "performance",
        "user.conf",
    ]
    assert (scenario / "README.md").stat().st_size > 0
    assert "resnet50.SingleStream.min_duration = 300" in (scenario / "user.conf").read_text()
    assert set(json.loads((scenario / "measurements.json").read_text())) >= {"weight_data_types", "retraining"}
    assert (scenario / "performance" / "run_1" / "mlperf_log_detail.txt").is_file()
    assert (scenario / "accuracy" / "accuracy.txt").is_file()
    assert (scenario / "TEST01" / "verify_accuracy.txt").is_file()
    assert (scenario / "TEST01" / "accuracy" / "mlperf_log_accuracy.json").is_file()
    assert (scenario / "TEST04" / "verify_performance.txt").is_file()


def test_src_replaces_code_and_no_v5_folder_is_written(experiment: Path) -> None:
    submitter = experiment / SUBMITTER
    assert sorted(p.name for p in submitter.iterdir()) == ["results", "src", "systems"]
    assert (submitter / "src" / "resnet50" / "onnxruntime-cpu" / "README.md").is_file()
    assert json.loads((submitter / "systems" / "host_cpu.json").read_text()) == {"system_name": "host"}
    assert not (experiment / ".staging").exists() or not any((experiment / ".staging").iterdir())


def test_a_rerun_replaces_its_own_files_and_keeps_the_rest(experiment: Path, data: Path, tmp_path: Path) -> None:
    copy = Path(shutil.copytree(experiment, tmp_path / "copy"))
    scenario = copy / SCENARIO_DIR
    before = (scenario / "accuracy" / "mlperf_log_accuracy.json").read_bytes()
    (scenario / "README.md").write_text("stale\n")
    harness(copy, data, "performance")
    assert (scenario / "README.md").read_text() != "stale\n"
    assert (scenario / "accuracy" / "mlperf_log_accuracy.json").read_bytes() == before
    assert (scenario / "TEST01" / "verify_accuracy.txt").is_file()
    assert (scenario / "TEST04" / "verify_performance.txt").is_file()


def test_v51_still_writes_the_v5_tree(data: Path, tmp_path: Path) -> None:
    harness(tmp_path, data, "accuracy", round_name="v5.1")
    submitter = tmp_path / SUBMITTER
    assert sorted(p.name for p in submitter.iterdir()) == ["code", "measurements", "results"]
    assert (
        submitter / "measurements" / "host_cpu" / "resnet50" / SCENARIO / "host_cpu_onnxruntime-cpu_SingleStream.json"
    ).is_file()
