"""The calibration contract: what the host asks of one INT8 calibration, and what it made.

Standard library only, like the run contract. The host writes a `CalibrationSpec` as `spec.json` into a run folder of
the experiment, the image runs `python -m harness calibrate --spec FILE` and writes a `CalibrationRecord` as
`record.json` beside it, together with the artefact. The host moves the artefact next to the model and keeps the
record beside it as `<artefact>.json`: `build.py run` reads that record to refuse an artefact whose accuracy gate
failed or whose inputs changed since.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

# The strict decoding and the JSON form every contract file shares.
from harness.contract import (
    EXIT_OF,
    SCHEMA,
    BackendSpec,
    ContractError,
    Exit,
    Outcome,
    _fields,
    _load,
    _plain,
    check_name,
)

# How ONNX Runtime's static quantization collects activation ranges; TensorRT's calibrator is always entropy.
ORT_METHODS = ("minmax", "entropy", "percentile")
TENSORRT_METHOD = "entropy"
# What each backend makes: ONNX Runtime a QDQ INT8 model, TensorRT the calibration cache its INT8 build reads.
ARTEFACT_SUFFIX = {"onnxruntime": ".int8.onnx", "tensorrt": ".calib"}
RECORD_SUFFIX = ".json"  # the record beside the artefact: <artefact>.json
# The CalibrationRecord outcomes: PLACED (gate passed), VERIFICATION_FAILED (artefact made, gate failed), and the
# failures that leave no artefact (REFUSED, ERROR, INTERRUPTED).
GATE_PASSED, GATE_FAILED = Outcome.PLACED, Outcome.VERIFICATION_FAILED
# What each exit status of `python -m harness calibrate` means (rendered into its help, as RUN_EXITS is).
CALIBRATE_EXITS: dict[Exit, str] = {
    Exit.OK: "the gate passed",
    Exit.ERROR: "an error; nothing made",
    Exit.REFUSED: "bad input, refused; nothing made",
    Exit.VERIFICATION_FAILED: "the artefact was made but failed the gate",
    Exit.INTERRUPTED_SIGINT: "interrupted (SIGINT); nothing made",
    Exit.INTERRUPTED_SIGTERM: "interrupted (SIGTERM, or the host went away); nothing made",
}


def artefact_name(backend: str, model_name: str) -> str:
    """The artefact's file name for a model file name: `resnet50.onnx` -> `resnet50.int8.onnx` / `resnet50.calib`."""
    if backend not in ARTEFACT_SUFFIX:
        raise ContractError(f"backend {backend!r} has no INT8 calibration; calibrated: {', '.join(ARTEFACT_SUFFIX)}")
    stem = model_name[: -len(".onnx")] if model_name.endswith(".onnx") else model_name
    return stem + ARTEFACT_SUFFIX[backend]


@dataclass(frozen=True)
class CalibrationSpec:
    """Everything the host asks of one calibration. Paths are as the harness sees them (inside the container)."""

    benchmark: str
    backend: BackendSpec  # the system's backend for the benchmark; precision is int8
    dataset: str  # the validation set: the gate's held-out images come from it
    model: str  # the full-precision ONNX model
    calibration_list: str  # one image name a line
    calibration_dataset: str  # where the listed images are (the dataset itself for ImageNet)
    output: str  # a folder: the artefact and record.json are written there
    method: str = "minmax"  # ORT_METHODS for onnxruntime; TENSORRT_METHOD for tensorrt
    gate_samples: int = 5000  # held-out images (fewer when the dataset has fewer outside the calibration list)
    gate_fraction: float = 0.99  # INT8 accuracy must reach this fraction of the full-precision accuracy
    cache_dir: str | None = None  # preprocessed samples, shared with runs
    allow_root: bool = False
    exit_on_stdin_eof: bool = False
    schema: int = SCHEMA

    def validate(self) -> CalibrationSpec:
        if self.schema != SCHEMA:
            raise ContractError(f"spec schema {self.schema} is not {SCHEMA}: host and image are of different versions")
        check_name(self.benchmark, "benchmark")
        artefact_name(self.backend.name, "model.onnx")  # a backend that cannot calibrate is refused here
        valid = ORT_METHODS if self.backend.name == "onnxruntime" else (TENSORRT_METHOD,)
        if self.method not in valid:
            raise ContractError(f"method {self.method!r} is not one of {self.backend.name}'s: {', '.join(valid)}")
        if isinstance(self.gate_samples, bool) or not isinstance(self.gate_samples, int) or self.gate_samples < 1:
            raise ContractError(f"gate_samples {self.gate_samples!r} is not a whole number of 1 or more")
        fraction = self.gate_fraction
        if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not 0 < fraction <= 1:
            raise ContractError(f"gate_fraction {self.gate_fraction!r} is not a fraction in (0, 1]")
        if self.backend.batch_size < 1:
            raise ContractError(f"backend.batch_size {self.backend.batch_size} is not a whole number of 1 or more")
        return self


@dataclass(frozen=True)
class Gate:
    """The accuracy gate: both figures on the same held-out images, and the rule they were held to."""

    samples: int
    fp32: float  # percent (top-1 or mAP)
    int8: float
    fraction: float
    metric: str = "top1"
    fp32_line: str = ""
    int8_line: str = ""

    @property
    def required(self) -> float:
        return self.fp32 * self.fraction

    @property
    def passed(self) -> bool:
        return self.int8 >= self.required

    def describe(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        return (
            f"accuracy gate {verdict} on {self.samples} held-out images: int8 {self.int8:.3f}% vs fp32 "
            f"{self.fp32:.3f}% {self.metric} (needs {self.required:.3f}%, {100 * self.fraction:g}% of fp32)"
        )


@dataclass(frozen=True)
class CalibrationRecord:
    """What a calibration made and from what; kept beside the artefact as `<artefact>.json`."""

    outcome: Outcome
    message: str = ""
    benchmark: str = ""
    backend: str = ""
    artefact: str = ""  # file name (beside the record)
    artefact_sha256: str = ""
    model: str = ""  # the full-precision model: a file name in the harness, the host's absolute path once placed
    model_sha256: str = ""
    calibration_list: str = ""  # as for model
    calibration_list_sha256: str = ""  # of the names, one a line (blank lines dropped), as TensorRT's cache key
    calibration_images: int = 0
    method: str = ""  # how it was quantised, in words
    tools: dict[str, str] = field(default_factory=dict)  # name -> version
    gate: Gate | None = None
    started: str = ""
    finished: str = ""
    schema: int = SCHEMA

    @property
    def gate_passed(self) -> bool:
        return self.outcome is GATE_PASSED and self.gate is not None and self.gate.passed

    @property
    def exit_code(self) -> int:
        return int(EXIT_OF[self.outcome])


def calibration_to_json(value: CalibrationSpec | CalibrationRecord) -> str:
    return json.dumps(_plain(value), indent=2, sort_keys=True) + "\n"


def calibration_spec_from_json(text: str, where: str = "spec") -> CalibrationSpec:
    data = _load(text, where)
    try:
        values = _fields(CalibrationSpec, data, where)
        values["backend"] = BackendSpec(**_fields(BackendSpec, values["backend"], f"{where} backend"))
        spec = CalibrationSpec(**values)
    except (TypeError, KeyError) as error:
        raise ContractError(f"{where}: {error}") from None
    for name in ("benchmark", "dataset", "model", "calibration_list", "calibration_dataset", "output", "method"):
        if not isinstance(getattr(spec, name), str):
            raise ContractError(f"{where}: {name} must be a string, not {getattr(spec, name)!r}")
    batch = spec.backend.batch_size
    if isinstance(batch, bool) or not isinstance(batch, int):
        raise ContractError(f"{where}: backend.batch_size must be a whole number, not {batch!r}")
    if not isinstance(spec.backend.options, dict):
        raise ContractError(f"{where}: backend.options must be a JSON object")
    return spec.validate()


def calibration_record_from_json(text: str, where: str = "record") -> CalibrationRecord:
    data = _load(text, where)
    try:
        values = _fields(CalibrationRecord, data, where)
        values["outcome"] = Outcome(values["outcome"])
        if values.get("gate") is not None:
            values["gate"] = Gate(**_fields(Gate, values["gate"], f"{where} gate"))
        values["tools"] = {str(k): str(v) for k, v in (values.get("tools") or {}).items()}
        return CalibrationRecord(**values)
    except (TypeError, ValueError, KeyError, AttributeError) as error:
        raise ContractError(f"{where} is not a calibration record: {error}") from None
