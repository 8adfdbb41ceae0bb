"""TensorRT's half of `python -m harness calibrate`, over the TensorRT STAND-IN
(tests/support/tensorrt_fake_runtime.py): the calibration cache is made by the backend's entropy calibrator from the
listed images, keyed to the model's and the list's sha256; a changed list recalibrates; a run given the cache uses it as
it is and refuses one of other weights.

The stand-in's "engine" returns each sample's sum as `total`, so a tiny benchmark here scores `total > 0` against a
label file; everything else (lists, cache, gate, record) is the real code."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harness.backends.calibration_list import CalibrationError
from harness.backends.tensorrt import trt_api
from harness.backends.tensorrt.backend import TensorRTBackend, TensorRTOptions
from harness.benchmarks.base import AccuracyReport, Sample
from harness.calibrate import run as calibrate_run
from harness.contract import BackendSpec
from harness.contract.calibration import CalibrationSpec, calibration_to_json
from tests.harness.backends.tensorrt.test_backend import SAMPLE, write_model  # the same tiny real ONNX model
from tests.support.tensorrt_fake_runtime import FakeTrtRuntime


class SignBenchmark:
    """A benchmark the stand-in can answer: a sample's label is whether its sum is positive."""

    name = "resnet50"
    input_shape = SAMPLE
    input_dtype = np.dtype(np.float32)
    output_names = ("total",)
    preprocessing_version = "sign-v1"

    def list_samples(self, dataset_dir: Path, count: int | None) -> list[Sample]:
        names = sorted(p.name for p in dataset_dir.glob("*.npy"))[:count]
        return [Sample(index=i, path=dataset_dir / name, key=name) for i, name in enumerate(names)]

    def preprocess(self, sample: Sample) -> np.ndarray:
        return np.load(sample.path)

    def postprocess(self, outputs: list[np.ndarray], sample_indices: list[int]) -> list[bytes]:
        return [np.float32(total > 0).tobytes() for total in outputs[0][:, 0]]

    def accuracy(self, accuracy_log: Path, dataset_dir: Path, samples: list[Sample]) -> AccuracyReport:
        labels = json.loads((dataset_dir / "labels.json").read_text())
        entries = json.loads(accuracy_log.read_text())
        good = sum(
            np.frombuffer(bytes.fromhex(e["data"]), np.float32)[0] == labels[samples[e["qsl_idx"]].key] for e in entries
        )
        value = 100.0 * good / len(entries)
        return AccuracyReport(f"accuracy={value:.3f}%, good={good}, total={len(entries)}", value, "top1")


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch, trt_version: str) -> FakeTrtRuntime:
    fake = FakeTrtRuntime(version=trt_version)
    monkeypatch.setattr(trt_api, "load_real_runtime", lambda _index: fake)  # the registry's loader: the stand-in's
    monkeypatch.setattr(calibrate_run, "get_benchmark", lambda _name: SignBenchmark())
    return fake


def write_dataset(folder: Path, count: int = 12) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    labels = {}
    for index in range(count):
        sample = rng.standard_normal(SAMPLE).astype(np.float32)
        np.save(folder / f"s{index:02d}.npy", sample)
        labels[f"s{index:02d}.npy"] = float(sample.sum() > 0)
    (folder / "labels.json").write_text(json.dumps(labels))
    return folder


def spec_for(tmp_path: Path, listed: list[str], model: Path) -> CalibrationSpec:
    (tmp_path / "list.txt").write_text("".join(f"{name}\n" for name in listed))
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    return CalibrationSpec(
        benchmark="resnet50",
        backend=BackendSpec(
            name="tensorrt", device="cuda", precision="int8", batch_size=4, options={"batch_sizes": [4]}
        ),
        dataset=str(tmp_path / "data"),
        model=str(model),
        calibration_list=str(tmp_path / "list.txt"),
        calibration_dataset=str(tmp_path / "data"),
        output=str(out),
        method="entropy",
        cache_dir=str(tmp_path / "cache"),
        allow_root=True,
    ).validate()


def test_calibration_cache_is_keyed_to_model_and_list_and_a_changed_list_recalibrates(
    tmp_path: Path, runtime: FakeTrtRuntime
) -> None:
    write_dataset(tmp_path / "data")
    model = write_model(tmp_path / "model.onnx")
    record = calibrate_run.calibrate(spec_for(tmp_path, ["s00.npy", "s01.npy", "s02.npy", "s03.npy"], model))
    cache = tmp_path / "out" / "model.calib"
    assert record.artefact == "model.calib" and cache.read_bytes().startswith(b"TRT-")
    assert record.gate_passed and record.gate is not None and record.gate.samples == 8  # the 8 not listed
    assert "entropy" in record.method and record.tools["tensorrt"] == runtime.version
    first_batches, first_cache, first_list = runtime.calibration_batches_seen, cache.read_bytes(), record
    assert first_batches == 1  # 4 images, batch 4

    other = calibrate_run.calibrate(spec_for(tmp_path, ["s04.npy", "s05.npy", "s06.npy", "s07.npy", "s08.npy"], model))
    assert runtime.calibration_batches_seen == first_batches + 2  # recalibrated: 5 images, 2 batches of 4
    assert cache.read_bytes() != first_cache
    assert other.calibration_list_sha256 != first_list.calibration_list_sha256
    assert other.model_sha256 == first_list.model_sha256


def test_a_run_uses_the_calibrated_cache_as_it_is_and_refuses_one_of_other_weights(
    tmp_path: Path, runtime: FakeTrtRuntime
) -> None:
    write_dataset(tmp_path / "data")
    model = write_model(tmp_path / "model.onnx")
    record = calibrate_run.calibrate(spec_for(tmp_path, ["s00.npy", "s01.npy"], model))
    cache = tmp_path / "out" / "model.calib"
    # Beside the cache, its record, as build.py calibrate places it.
    (tmp_path / "out" / "model.calib.json").write_text(calibration_to_json(record))
    seen = runtime.calibration_batches_seen

    def backend(weights: Path) -> TensorRTBackend:
        options = TensorRTOptions(batch_sizes=(4,), cache_dir=tmp_path / "engines", calibration_cache=cache)
        run = TensorRTBackend(benchmark="resnet50", device="cuda", precision="int8", options=options)
        run.load(weights)
        return run

    backend(model)
    assert runtime.calibration_batches_seen == seen  # no image pulled: the cache was used
    (tmp_path / "other").mkdir()
    retrained = write_model(tmp_path / "other" / "model.onnx", scale=2.0)
    with pytest.raises(CalibrationError, match="made for other weights"):
        backend(retrained)
