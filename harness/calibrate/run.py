"""One calibration, start to finish: find the listed images, make the INT8 artefact, gate it, write its record.

The artefact is written into the spec's output folder under its final name only once made; its record says whether
the gate passed. A failed gate still leaves the artefact and a record saying so (`build.py run` refuses it), so the
user can see what was made; a failure before that leaves nothing.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from harness.backends.base import Backend
from harness.backends.calibration_list import CalibrationError, list_sha256, read_calibration_list
from harness.backends.registry import get_backend
from harness.benchmarks.base import AccuracyReport, Benchmark, Sample
from harness.benchmarks.registry import get_benchmark
from harness.cache import PreprocessedCache, cache_namespace, load_entry
from harness.calibrate import gate, lists
from harness.contract import Outcome
from harness.contract.calibration import (
    GATE_FAILED,
    GATE_PASSED,
    CalibrationRecord,
    CalibrationSpec,
    Gate,
    artefact_name,
)
from harness.loadgen.qsl import prepare_samples
from harness.results.provenance import file_sha256

_BATCH = 32  # calibration batch: ranges do not depend on it; it bounds memory (32 ResNet50 inputs: 19 MB)


@dataclass(frozen=True)
class _Inputs:
    benchmark: Benchmark
    dataset: list[Sample]
    calibration: list[Sample]
    held_out: list[Sample]
    names: list[str]
    load: Callable[[Sample], np.ndarray]


def calibrate(spec: CalibrationSpec) -> CalibrationRecord:
    """Make, gate and record the artefact; raises (CalibrationError and the benchmark's DatasetError) on bad input."""
    started = _now()
    model, output = Path(spec.model), Path(spec.output)
    if not model.is_file():
        raise CalibrationError(f"model file {model} does not exist; pass --model with the full-precision model")
    inputs = _inputs(spec)
    artefact = output / artefact_name(spec.backend.name, model.name)
    with tempfile.TemporaryDirectory(prefix="calibrate-") as scratch:
        if spec.backend.name == "onnxruntime":
            int8, method, tools = _onnxruntime(spec, inputs, model, artefact)
        else:
            int8, method, tools = _tensorrt(spec, inputs, model, artefact, Path(scratch))
        fp32 = _backend(spec, inputs.benchmark, "fp32", _fp32_options(spec, Path(scratch)))
        fp32.load(model)
        result = _gate(spec, inputs, fp32, int8, Path(scratch))
    return CalibrationRecord(
        outcome=GATE_PASSED if result.passed else GATE_FAILED,
        message=result.describe(),
        benchmark=spec.benchmark,
        backend=spec.backend.name,
        artefact=artefact.name,
        artefact_sha256=file_sha256(artefact),
        model=model.name,
        model_sha256=file_sha256(model),
        calibration_list=Path(spec.calibration_list).name,
        calibration_list_sha256=list_sha256(inputs.names),
        calibration_images=len(inputs.calibration),
        method=method,
        tools=tools,
        gate=result,
        started=started,
        finished=_now(),
    )


def failed(outcome: Outcome, message: str, started: str) -> CalibrationRecord:
    return CalibrationRecord(outcome=outcome, message=message, started=started, finished=_now())


def _inputs(spec: CalibrationSpec) -> _Inputs:
    benchmark = get_benchmark(spec.benchmark)
    dataset = benchmark.list_samples(Path(spec.dataset), None)
    names = read_calibration_list(Path(spec.calibration_list))
    image_dir = Path(spec.calibration_dataset)
    own = dataset if image_dir.resolve() == Path(spec.dataset).resolve() else []
    calibration = lists.find_listed(names, image_dir, own, Path(spec.calibration_list))
    held_out = lists.held_out(dataset, calibration, spec.gate_samples)
    if not held_out:
        raise CalibrationError(
            f"every image of {spec.dataset} is in the calibration list, so none is left for the accuracy gate; "
            "pass a list that leaves validation images out"
        )
    cache_root = Path(spec.cache_dir) if spec.cache_dir else Path(spec.output) / ".cache" / "preprocessed"
    cache = PreprocessedCache(cache_root, cache_namespace(benchmark))
    prepare_samples([*calibration, *held_out], benchmark.preprocess, cache, os.cpu_count() or 1)
    return _Inputs(benchmark, dataset, calibration, held_out, names, lambda s: load_entry(cache.entry(s.path)))


def _onnxruntime(
    spec: CalibrationSpec, inputs: _Inputs, model: Path, artefact: Path
) -> tuple[Backend, str, dict[str, str]]:
    # Each runtime is imported only for its own backend: the TensorRT images carry no ONNX Runtime quantizer.
    import onnx
    import onnxruntime

    from harness.calibrate import ort_int8

    ort_int8.quantize(model, artefact, _batches(inputs.calibration, inputs.load), spec.method)
    backend = _backend(spec, inputs.benchmark, "int8", {})
    backend.load(artefact)
    tools = {"onnxruntime": onnxruntime.__version__, "onnx": onnx.__version__, "numpy": np.__version__}
    return backend, ort_int8.describe(spec.method), tools


def _tensorrt(
    spec: CalibrationSpec, inputs: _Inputs, model: Path, artefact: Path, scratch: Path
) -> tuple[Backend, str, dict[str, str]]:
    from harness.calibrate import tensorrt_cache

    by_name = dict(zip(inputs.names, inputs.calibration, strict=True))
    backend, cache = tensorrt_cache.calibrate(
        lambda precision, extra: _backend(spec, inputs.benchmark, precision, {**spec.backend.options, **extra}),
        model,
        Path(spec.calibration_list),
        lambda name: inputs.load(by_name[name]),
        scratch,
        min(_BATCH, spec.backend.batch_size),
    )
    shutil.move(cache, artefact)  # scratch may be another file system than the output
    info = backend.info()
    method = (
        f"TensorRT {info.version} INT8 entropy calibration (IInt8EntropyCalibrator2) over the listed images; "
        "the cache is applied to the full-precision ONNX model when the engine is built"
    )
    return backend, method, {"tensorrt": info.version, "numpy": np.__version__}


def _fp32_options(spec: CalibrationSpec, scratch: Path) -> dict[str, Any]:
    if spec.backend.name == "tensorrt":
        return {**spec.backend.options, "cache_dir": scratch / "fp32-engines"}
    return {}


def _backend(spec: CalibrationSpec, benchmark: Benchmark, precision: str, options: dict[str, Any]) -> Backend:
    return get_backend(
        spec.backend.name,
        benchmark=benchmark.name,
        device=spec.backend.device,
        precision=precision,
        threads=spec.backend.threads,
        output_names=benchmark.output_names,
        options=options,
        batch_size=spec.backend.batch_size,
    )


def _gate(spec: CalibrationSpec, inputs: _Inputs, fp32: Backend, int8: Backend, scratch: Path) -> Gate:
    last = max(sample.index for sample in inputs.held_out)
    prefix = inputs.dataset[: last + 1]

    def run(backend: Backend, name: str) -> AccuracyReport:
        return gate.score(
            backend,
            inputs.benchmark,
            inputs.held_out,
            prefix,
            Path(spec.dataset),
            inputs.load,
            spec.backend.batch_size,
            scratch / f"{name}-accuracy.json",
        )

    return gate.compare(len(inputs.held_out), run(fp32, "fp32"), run(int8, "int8"), spec.gate_fraction)


def _batches(samples: list[Sample], load: Callable[[Sample], np.ndarray]) -> Iterator[np.ndarray]:
    for start in range(0, len(samples), _BATCH):
        yield np.stack([load(sample) for sample in samples[start : start + _BATCH]])


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
