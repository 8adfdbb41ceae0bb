"""The pipelined SUT over resident samples (harness/loadgen/pipeline.py): answers as the host path does, through
real LoadGen."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.benchmarks.base import CompactForm
from msb.synthetic.imagenet import write_dataset
from tests.support import REPO
from tests.support.torch_worker import Sums, cpu_worker


def _entries(tmp_path: Path, arrays: list[np.ndarray]) -> list[Path]:
    paths = []
    for number, array in enumerate(arrays):
        path = tmp_path / f"{number}.npy"
        np.save(path, array)
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def imagenet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("resident")
    write_dataset(root / "dataset", 12)
    (root / "resnet50.random.json").write_text(json.dumps({"architecture": "resnet50", "weights": None, "seed": 0}))
    return root


def _harness_run(imagenet: Path, output: Path, scenario: str, mode: str, *extra: str) -> dict[str, object]:
    args = [
        "run", "--benchmark=resnet50", f"--scenario={scenario}", f"--mode={mode}",
        "--dataset", str(imagenet / "dataset"), "--model", str(imagenet / "resnet50.random.json"),
        "--backend=pytorch", "--device=cpu", "--precision=fp32", "--threads=2", "--output", str(output),
        "--submitter=ACME", "--system=host_cpu", "--min-duration-ms=100", "--min-query-count=8",
        "--cache-dir", str(imagenet / "cache"), *extra,
    ]  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "harness", *args, "--allow-root"],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return {"stdout": result.stdout}


def _accuracy_log(output: Path, scenario: str) -> list[dict[str, object]]:
    path = output / "closed/ACME/results/host_cpu/resnet50" / scenario / "accuracy/mlperf_log_accuracy.json"
    return sorted(json.loads(path.read_text()), key=lambda entry: int(str(entry["qsl_idx"])))


def test_resident_pipeline_answers_exactly_as_the_host_path_with_two_workers_on_one_device(
    imagenet: Path, tmp_path: Path
) -> None:
    _harness_run(imagenet, tmp_path / "host", "Offline", "accuracy", "--batch-size=4",
                 "--backend-option", "resident=false")  # fmt: skip
    _harness_run(imagenet, tmp_path / "resident", "Offline", "accuracy", "--batch-size=4",
                 "--backend-option", "workers_per_device=2")  # fmt: skip
    host, resident = _accuracy_log(tmp_path / "host", "Offline"), _accuracy_log(tmp_path / "resident", "Offline")
    assert len(resident) == 12
    assert [(e["qsl_idx"], e["data"]) for e in resident] == [(e["qsl_idx"], e["data"]) for e in host]
    readme = tmp_path / "resident/closed/ACME/measurements/host_cpu/resnet50/Offline/README.md"
    assert "- resident_workers: cpu-0,cpu-1" in readme.read_text()  # two replicas shared the device


@pytest.mark.parametrize("scenario", ["SingleStream", "Server"])
def test_resident_pipeline_completes_singlestream_and_server_runs(
    imagenet: Path, tmp_path: Path, scenario: str
) -> None:
    extra = ["--target-qps=20"] if scenario == "Server" else ["--target-latency-ms=50"]
    result = _harness_run(imagenet, tmp_path, scenario, "performance", "--batch-size=2", *extra)
    assert f"resnet50 {scenario} performance" in str(result["stdout"])


class _SumBenchmark:
    """Answers each sample with its sum as float32 (per-sample payloads, or one array with `rows`)."""

    name = "resnet50"

    def __init__(self, rows: bool) -> None:
        if rows:
            self.payload_rows = lambda outputs: outputs[0].astype(np.float32).view(np.uint8).reshape(-1, 4)

    def postprocess(self, outputs: list[np.ndarray], indices: list[int]) -> list[bytes]:
        return [np.float32(value).tobytes() for value in outputs[0]]


@pytest.mark.parametrize(("scenario", "rows"), [("Offline", True), ("Offline", False), ("Server", True)])
def test_pipelined_sut_answers_every_sample_with_its_own_result_through_loadgen(
    tmp_path: Path, scenario: str, rows: bool
) -> None:
    import mlperf_loadgen as lg

    from harness.loadgen.launch import run_test
    from harness.loadgen.pipeline import PipelinedServerSUT, PipelinedSUT
    from harness.loadgen.resident import ResidentLibrary

    count = 37  # not a multiple of the batch size: the last batch is padded
    entries = _entries(tmp_path, [np.full((2, 1, 1), n, np.uint8) for n in range(count)])
    form = CompactForm("uint8", (0.0, 0.0), 1.0, "test")
    workers = [cpu_worker(form, (2, 1, 1), Sums(), batch_size=4) for _ in range(2)]
    library = ResidentLibrary(entries, count, workers)
    bench = _SumBenchmark(rows)
    settings = lg.TestSettings()
    settings.mode = lg.TestMode.AccuracyOnly
    if scenario == "Server":
        settings.scenario = lg.TestScenario.Server
        settings.server_target_qps = 500
        sut: PipelinedSUT = PipelinedServerSUT(library, bench, 4, max_wait_s=0.002)  # type: ignore[arg-type]
    else:
        settings.scenario = lg.TestScenario.Offline
        settings.offline_expected_qps = 1000
        sut = PipelinedSUT(library, bench, 4)  # type: ignore[arg-type]
    run_test(sut, library, settings, tmp_path / "logs")
    sut.raise_if_failed()
    log = json.loads((tmp_path / "logs" / "mlperf_log_accuracy.json").read_text())
    answers = {int(e["qsl_idx"]): float(np.frombuffer(bytes.fromhex(e["data"]), np.float32)[0]) for e in log}
    assert answers == {n: 2.0 * n for n in range(count)}
