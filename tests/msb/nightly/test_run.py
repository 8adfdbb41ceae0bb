"""The night's pure parts: tonight's inputs must be the baseline's (by sha256), else a difference named as such."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.contract import Outcome, RunRecord
from msb.image import builder
from msb.image.builder import BuiltImage
from msb.image.content import Content
from msb.labels import LABEL_CONTENT, NAMESPACE
from msb.nightly.run import Baseline, Night, inputs_check, rebuild, recorded_contents
from msb.run import manifest

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


def test_a_rebuild_whose_content_drifted_from_the_baselines_image_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest_file = tmp_path / "m.json"
    labels = {f"{NAMESPACE}.image": "cpu", LABEL_CONTENT: "sha256:" + "a" * 64}
    manifest_file.write_text(json.dumps({"schema": manifest.SCHEMA, "spec": {}, "image": {"labels": labels}}))
    baseline = Baseline(tmp_path, {("cpu_demo", "resnet50", "Offline", "accuracy"): manifest_file})
    assert recorded_contents(baseline) == {"cpu": "sha256:" + "a" * 64}

    def built(digest: str) -> Callable[..., BuiltImage]:
        return lambda *args, **kwargs: BuiltImage("sha256:1", [], None, Content(digest, {}))  # type: ignore[arg-type]

    night = Night("n", tmp_path, "now")
    (tmp_path / "logs").mkdir()
    config = SimpleNamespace(no_cache=True, repository="msbtest")
    engine = SimpleNamespace(image_id=lambda ref: ref)
    monkeypatch.setattr(builder, "build", built("b" * 64))
    drifted = rebuild(None, "cpu", config, engine, night, lambda text: None, "sha256:" + "a" * 64)  # type: ignore[arg-type]
    assert "is not the baseline image's" in drifted.error and "--verify" in drifted.error
    monkeypatch.setattr(builder, "build", built("a" * 64))
    same = rebuild(None, "cpu", config, engine, night, lambda text: None, "sha256:" + "a" * 64)  # type: ignore[arg-type]
    assert same.error == ""
