"""The night's pure parts: tonight's inputs must be the baseline's (by sha256), else a difference named as such."""

from __future__ import annotations

from harness.contract import Outcome, RunRecord
from msb.nightly.run import inputs_check

RECORDED = {"dataset": {"sha256": "d" * 64, "files": []}, "model": {"sha256": "m" * 64, "size": 1}}


def record(dataset: str, model: str) -> RunRecord:
    return RunRecord(Outcome.PLACED, provenance={"dataset": {"sha256": dataset}, "model": {"sha256": model}})


def test_the_same_inputs_pass() -> None:
    assert inputs_check(RECORDED, record("d" * 64, "m" * 64)).ok


def test_another_model_is_a_difference_named_as_such() -> None:
    check = inputs_check(RECORDED, record("d" * 64, "x" * 64))
    assert not check.ok and check.note == "the dataset or model differs from the baseline's"
    assert check.original == f"{'d' * 12} {'m' * 12}" and check.reproduced == f"{'d' * 12} {'x' * 12}"


def test_unrecorded_inputs_never_pass() -> None:
    assert not inputs_check({}, RunRecord(Outcome.PLACED)).ok
