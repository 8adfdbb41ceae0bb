"""An INT8 artefact as `build.py run` accepts it: its record beside it says the gate passed, and every input it names
is unchanged since (the artefact itself, the full-precision model, the calibration list). Also its calibration.md text.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from harness.contract import ContractError
from harness.contract.calibration import RECORD_SUFFIX, CalibrationRecord, artefact_name, calibration_record_from_json
from msb.descriptions.system import SystemSpec
from msb.descriptions.yamlfile import read_text
from msb.errors import SpecError
from msb.hashing import file_sha256

_RECALIBRATE = "run build.py calibrate --system {system} --benchmark {benchmark} --model FP32_MODEL --dataset DIR"


def artefact_of(backend: str, model: Path) -> Path:
    """The artefact a run of `model` uses: ONNX Runtime runs the QDQ model itself; TensorRT builds from the ONNX model
    with the calibration cache beside it."""
    return model if backend == "onnxruntime" else model.with_name(artefact_name(backend, model.name))


def read_record(artefact: Path) -> CalibrationRecord:
    path = artefact.with_name(artefact.name + RECORD_SUFFIX)
    if not path.is_file():
        raise SpecError(
            f"{artefact} has no calibration record {path.name} beside it, so nothing says it passed an accuracy gate",
            "make the INT8 artefact with build.py calibrate (it writes both)",
        )
    try:
        return calibration_record_from_json(read_text(path, "calibration record"), str(path))
    except ContractError as error:
        raise SpecError(str(error), "make the artefact again with build.py calibrate") from None


def check_runnable(system: SystemSpec, benchmark: str, model: Path) -> CalibrationRecord | None:
    """The record of the INT8 artefact the run would use, if the benchmark runs in INT8; a SpecError naming what is
    wrong when its gate failed or an input changed. None for other precisions."""
    bench = system.benchmarks.get(benchmark)
    if bench is None or bench.precision != "int8":
        return None
    fix = _RECALIBRATE.format(system=system.name, benchmark=benchmark)
    artefact = artefact_of(bench.backend, model)
    if not artefact.is_file():
        raise SpecError(f"{benchmark} runs in int8 on system '{system.name}' but {artefact} does not exist", fix)
    record = read_record(artefact)
    if record.benchmark != benchmark or record.backend != bench.backend:
        raise SpecError(
            f"{artefact} was calibrated for {record.benchmark} on {record.backend}, not {benchmark} on {bench.backend}",
            fix,
        )
    if not record.gate_passed:
        raise SpecError(f"{artefact} failed its accuracy gate: {record.message}", f"recalibrate: {fix}")
    for path, recorded, what in _inputs(bench.backend, artefact, model, record):
        if not path.is_file():
            raise SpecError(f"{artefact} was made from {what} {path}, which is gone, so it cannot be checked", fix)
        found = _list_sha256(path) if what == "calibration list" else file_sha256(path)
        if found != recorded:
            raise SpecError(f"{what} {path} changed since {artefact.name} was calibrated (sha256 differs)", fix)
    return record


def _inputs(backend: str, artefact: Path, model: Path, record: CalibrationRecord) -> list[tuple[Path, str, str]]:
    inputs = [
        (artefact, record.artefact_sha256, "artefact"),
        (Path(record.model), record.model_sha256, "full-precision model"),
        (Path(record.calibration_list), record.calibration_list_sha256, "calibration list"),
    ]
    if backend != "onnxruntime":  # TensorRT runs the ONNX model itself: it must be the one calibrated
        inputs.append((model, record.model_sha256, "model"))
    return inputs


def _list_sha256(path: Path) -> str:
    """As the harness keys a list: its names, one a line, blank lines dropped (harness.backends.calibration_list)."""
    names = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    return hashlib.sha256("\n".join(names).encode()).hexdigest()


def calibration_text(benchmark: str, record: CalibrationRecord) -> str:
    """The calibration.md lines of one INT8 benchmark, from its record."""
    gate = record.gate
    gate_text = f"; {gate.describe()}" if gate else ""
    tools = ", ".join(f"{name} {version}" for name, version in sorted(record.tools.items()))
    return (
        f"{benchmark} ({record.backend}, int8): {Path(record.model).name} (sha256 {record.model_sha256}) calibrated "
        f"on the {record.calibration_images} images of {Path(record.calibration_list).name} (names sha256 "
        f"{record.calibration_list_sha256}). Method: {record.method}. Tools: {tools}{gate_text}. Artefact: "
        f"{record.artefact} (sha256 {record.artefact_sha256})."
    )
