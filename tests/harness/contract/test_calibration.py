"""The calibration contract (harness.contract.calibration): the spec the host writes and the record beside an
artefact survive JSON both ways; a spec the harness cannot honour is refused naming the field."""

from __future__ import annotations

import json

import pytest

from harness.contract import BackendSpec, ContractError, Outcome
from harness.contract.calibration import (
    CalibrationRecord,
    CalibrationSpec,
    Gate,
    artefact_name,
    calibration_record_from_json,
    calibration_spec_from_json,
    calibration_to_json,
)

SPEC = CalibrationSpec(
    benchmark="resnet50",
    backend=BackendSpec(name="onnxruntime", precision="int8", batch_size=8),
    dataset="/data/dataset",
    model="/data/model/resnet50_v1.onnx",
    calibration_list="/data/calibration-list/cal_image_list_option_1.txt",
    calibration_dataset="/data/dataset",
    output="/work/experiment/.msb/runs/abc",
)


def test_spec_and_record_round_trip() -> None:
    assert calibration_spec_from_json(calibration_to_json(SPEC)) == SPEC
    gate = Gate(samples=5000, fp32=76.1, int8=75.9, fraction=0.99)
    record = CalibrationRecord(outcome=Outcome.PLACED, artefact="m.int8.onnx", gate=gate, tools={"onnx": "1.23.2"})
    back = calibration_record_from_json(calibration_to_json(record))
    assert back == record and back.gate_passed
    assert not calibration_record_from_json(calibration_to_json(CalibrationRecord(Outcome.PLACED))).gate_passed


def test_gate_passes_at_the_fraction_and_fails_below_it_with_both_figures() -> None:
    assert Gate(samples=10, fp32=80.0, int8=79.2, fraction=0.99).passed  # exactly 99 % of fp32
    failed = Gate(samples=10, fp32=80.0, int8=0.6, fraction=0.99)
    assert not failed.passed
    assert "FAILED on 10 held-out images: int8 0.600% vs fp32 80.000%" in failed.describe()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"method": "kl"}, "method 'kl' is not one of onnxruntime's"),
        ({"gate_fraction": 1.5}, "gate_fraction 1.5 is not a fraction"),
        ({"gate_samples": 0}, "gate_samples 0"),
        ({"backend": {"name": "pytorch"}}, "backend 'pytorch' has no INT8 calibration"),
        ({"backend": {"name": "onnxruntime", "batch_size": "8"}}, "backend.batch_size must be a whole number"),
        ({"colour": "red"}, "unknown field"),
        ({"benchmark": "../x"}, "is not a valid name"),
    ],
)
def test_bad_specs_are_refused_naming_the_field(change: dict[str, object], message: str) -> None:
    data = json.loads(calibration_to_json(SPEC)) | change
    with pytest.raises(ContractError, match=message):
        calibration_spec_from_json(json.dumps(data))


def test_artefact_names_follow_the_backend() -> None:
    assert artefact_name("onnxruntime", "resnet50_v1.onnx") == "resnet50_v1.int8.onnx"
    assert artefact_name("tensorrt", "resnet50_v1.onnx") == "resnet50_v1.calib"
