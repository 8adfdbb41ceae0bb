"""Samples resident on the device: the compact form, the slot store, the PyTorch worker and the pipelined SUT.

The PyTorch worker runs here on the CPU (no CUDA on CI machines): the same gather, expansion and model as on a
GPU, without streams and graphs. tests/test_pytorch_cuda.py runs the CUDA side where a GPU is present.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from harness.backends.pytorch.resident import TorchWorker
from harness.benchmarks.base import CompactForm, Sample, expand
from harness.benchmarks.resnet50 import _MEANS, ResNet50, _resize_and_crop
from harness.loadgen.qsl import SampleLibrary, SlotMap
from msb.synthetic.imagenet import write_dataset

REPO = Path(__file__).resolve().parents[1]


def photo(tmp_path: Path, seed: int = 0) -> Sample:
    rng = np.random.default_rng(seed)
    path = tmp_path / f"photo{seed}.jpg"
    Image.fromarray(rng.integers(0, 256, (300, 410, 3), dtype=np.uint8)).save(path, quality=90)
    return Sample(0, path, path.name)


def test_resnet50s_uint8_crop_expands_to_the_reference_float32_preprocessing_bit_for_bit(tmp_path: Path) -> None:
    sample = photo(tmp_path)
    bench = ResNet50()
    compact = bench.compact(sample)
    assert compact.dtype == np.uint8 and compact.shape == (3, 224, 224)
    with Image.open(sample.path) as image:
        reference = (_resize_and_crop(image.convert("RGB")) - _MEANS).transpose(2, 0, 1)  # float32 "vgg"
    np.testing.assert_array_equal(bench.preprocess(sample), reference)
    np.testing.assert_array_equal(expand(bench.compact_form, compact), reference)
    # The device's expansion (torch; the same IEEE operations on a GPU) gives the identical float32 values.
    worker = _worker(bench.compact_form, (3, 224, 224), nn.Identity(), batch_size=1)
    on_device = worker.expand(torch.from_numpy(compact)[None]).numpy()[0]
    assert on_device.dtype == np.float32
    np.testing.assert_array_equal(on_device, reference)


def test_slot_map_reuses_freed_slots_and_names_samples_never_loaded() -> None:
    slots = SlotMap(total=10)
    new, assigned = slots.assign([4, 2, 4, 7])
    assert new.tolist() == [2, 4, 7] and assigned.tolist() == [0, 1, 2] and slots.capacity == 3
    slots.release([4])
    new, assigned = slots.assign([9, 2])  # 2 is loaded already; 9 takes 4's freed slot
    assert new.tolist() == [9] and assigned.tolist() == [1] and slots.capacity == 3
    assert slots.slots([7, 9, 2]).tolist() == [2, 1, 0]
    with pytest.raises(KeyError, match=r"samples \[4\] were not loaded"):
        slots.slots([4])


def _entries(tmp_path: Path, arrays: list[np.ndarray]) -> list[Path]:
    paths = []
    for number, array in enumerate(arrays):
        path = tmp_path / f"{number}.npy"
        np.save(path, array)
        paths.append(path)
    return paths


def test_host_library_gathers_by_index_and_hands_out_one_sample_without_a_copy(tmp_path: Path) -> None:
    arrays = [np.full((2, 3), n, dtype=np.float32) for n in range(6)]
    library = SampleLibrary(_entries(tmp_path, arrays), performance_count=6)
    library.load([5, 1, 3])
    out = library.batch_buffer(4)
    batch = library.batch([3, 5, 1], out)
    np.testing.assert_array_equal(batch, np.stack([arrays[3], arrays[5], arrays[1]]))
    assert np.shares_memory(batch, out)
    one = library.batch([5])
    np.testing.assert_array_equal(one, arrays[5][None])
    assert np.shares_memory(one, library.batch([5]))  # a view of the store both times, not a new copy
    library.unload([5])
    library.load([0])  # takes 5's slot
    np.testing.assert_array_equal(library.batch([0, 3]), np.stack([arrays[0], arrays[3]]))


def test_host_library_keeps_samples_of_differing_shapes(tmp_path: Path) -> None:
    arrays = [np.zeros((3, 32, 64), np.float32), np.ones((3, 64, 32), np.float32)]  # YOLO's minimal padding
    library = SampleLibrary(_entries(tmp_path, arrays), performance_count=2)
    library.load([0, 1])
    np.testing.assert_array_equal(library.batch([1]), arrays[1][None])


class _Sums(nn.Module):
    """Each sample's sum, and its first value: enough to tell which sample was gathered."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x.flatten(1).sum(1), x.flatten(1)[:, 0]


def _worker(
    form: CompactForm, shape: tuple[int, ...], model: nn.Module, batch_size: int, sizes: tuple[int, ...] = ()
) -> TorchWorker:
    return TorchWorker(
        name="cpu-0",
        model=model,
        device=torch.device("cpu"),
        dtype=torch.float32,
        channels_last=False,
        form=form,
        sample_shape=shape,
        batch_size=batch_size,
        streams=2,
        batch_sizes=sizes,
        cuda_graphs=True,  # ignored on the CPU
        finish=lambda raw: raw,
        finish_in_graph=True,
    )


def test_worker_gathers_stored_samples_by_slot_and_drops_the_padding_rows() -> None:
    form = CompactForm("uint8", (1.0, 2.0), 4.0, "test")
    worker = _worker(form, (2, 1, 1), _Sums(), batch_size=4)
    samples = np.arange(10, dtype=np.uint8).reshape(5, 2, 1, 1) * 10  # sample n holds 20n and 20n + 10
    worker.store(np.array([4, 0, 1, 3, 2]), samples)  # slot 4 <- sample 0, slot 0 <- sample 1, ...
    assert worker.device_bytes() == 10  # uint8: one byte per value, 5 samples of 2
    sums, firsts = worker.launch(np.array([4, 2, 0])).result()
    expected = [
        (v - np.array([1.0, 2.0])) / 4.0 for v in (samples[0, :, 0, 0], samples[4, :, 0, 0], samples[1, :, 0, 0])
    ]
    np.testing.assert_array_equal(sums, np.array([e.sum() for e in expected], np.float32))
    np.testing.assert_array_equal(firsts, np.array([e[0] for e in expected], np.float32))
    with pytest.raises(ValueError, match="a batch of 5 samples on a worker built for batch size 4"):
        worker.launch(np.arange(5))


class _Shapes(nn.Module):
    """Answers, per sample, the batch size the network ran at."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor]:
        return (torch.full((x.shape[0],), float(x.shape[0])),)


def test_a_batch_runs_at_the_smallest_batch_size_that_holds_it() -> None:
    worker = _worker(CompactForm("uint8", (0.0,), 1.0, "t"), (1, 1, 1), _Shapes(), batch_size=8, sizes=(2, 4, 16))
    assert worker.run_sizes == [2, 4, 8]  # sizes above the batch size are not run
    worker.store(np.arange(8), np.zeros((8, 1, 1, 1), np.uint8))
    ran = {count: worker.launch(np.arange(count)).result()[0] for count in (1, 2, 3, 5, 8)}
    assert {count: (len(out), float(out[0])) for count, out in ran.items()} == {
        1: (1, 2.0),
        2: (2, 2.0),
        3: (3, 4.0),
        5: (5, 8.0),
        8: (8, 8.0),
    }


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
    workers = [_worker(form, (2, 1, 1), _Sums(), batch_size=4) for _ in range(2)]
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
