"""INT8 calibration: MLPerf calibration list, batching, and the calibration cache tied to the ONNX weights."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from harness.backends.calibration_list import CalibrationError, list_sha256, read_calibration_list
from harness.backends.tensorrt.calibration import (
    CacheProvenance,
    CalibrationCache,
    CalibrationSession,
    calibration_batches,
)

WEIGHTS_A = CacheProvenance("a" * 64, "l" * 64)
WEIGHTS_B = CacheProvenance("b" * 64, "l" * 64)


def test_calibration_list_is_read_one_name_a_line(tmp_path: Path) -> None:
    path = tmp_path / "cal_image_list_option_1.txt"
    path.write_text("ILSVRC2012_val_00000001.JPEG\n\nILSVRC2012_val_00000002.JPEG\n")
    assert read_calibration_list(path) == ["ILSVRC2012_val_00000001.JPEG", "ILSVRC2012_val_00000002.JPEG"]


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "does not exist"), ("\n\n", "is empty"), ("a.jpg\nb.jpg\na.jpg\n", "more than once")],
)
def test_bad_calibration_lists_are_refused(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "list.txt"
    if content is not None:
        path.write_text(content)
    with pytest.raises(CalibrationError, match=message):
        read_calibration_list(path)


def test_batches_are_full_and_every_listed_image_is_used() -> None:
    names = [f"img{i}" for i in range(5)]
    loaded: list[str] = []

    def load(name: str) -> np.ndarray:
        loaded.append(name)
        return np.full((3, 2, 2), int(name[3:]), np.float32)

    batches = list(calibration_batches(names, 2, load))
    assert [b.shape for b in batches] == [(2, 3, 2, 2)] * 3
    assert set(loaded) == set(names)
    assert batches[2][0, 0, 0, 0] == 4  # last image, then padding from the same partial batch
    assert batches[2][1, 0, 0, 0] == 4


def test_cache_is_reused_for_the_same_weights_and_list(tmp_path: Path) -> None:
    cache = CalibrationCache(tmp_path / "model.calib", WEIGHTS_A)
    assert cache.load() is None
    cache.store(b"scales")
    assert CalibrationCache(tmp_path / "model.calib", WEIGHTS_A).load() == b"scales"
    assert json.loads((tmp_path / "model.calib.json").read_text())["onnx_sha256"] == "a" * 64


def test_cache_for_other_weights_is_rebuilt_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    CalibrationCache(tmp_path / "model.calib", WEIGHTS_A).store(b"scales for A")
    with caplog.at_level(logging.WARNING):
        assert CalibrationCache(tmp_path / "model.calib", WEIGHTS_B).load() is None
    assert "made for other weights" in caplog.text


def test_cache_for_other_weights_is_refused_when_recalibration_is_not_allowed(tmp_path: Path) -> None:
    CalibrationCache(tmp_path / "model.calib", WEIGHTS_A).store(b"scales for A")
    with pytest.raises(CalibrationError, match="made for other weights"):
        CalibrationCache(tmp_path / "model.calib", WEIGHTS_B, rebuild_mismatched=False).load()


def test_cache_without_provenance_or_from_another_list_is_not_used(tmp_path: Path) -> None:
    (tmp_path / "orphan.calib").write_bytes(b"who made me")
    with pytest.raises(CalibrationError, match="weights it was made from are unknown"):
        CalibrationCache(tmp_path / "orphan.calib", WEIGHTS_A, rebuild_mismatched=False).load()
    CalibrationCache(tmp_path / "m.calib", WEIGHTS_A).store(b"x")
    other_list = CacheProvenance("a" * 64, list_sha256(["other.jpg"]))
    with pytest.raises(CalibrationError, match="another calibration list"):
        CalibrationCache(tmp_path / "m.calib", other_list, rebuild_mismatched=False).load()


def test_session_serves_batches_and_writes_through_to_the_cache(tmp_path: Path) -> None:
    cache = CalibrationCache(tmp_path / "m.calib", WEIGHTS_A)
    session = CalibrationSession(["a", "b", "c"], 2, lambda _: np.zeros((1,), np.float32), cache)
    assert session.read_cache() is None
    while session.next_batch() is not None:
        pass
    assert session.batches_served == 2
    session.write_cache(b"new scales")
    assert cache.load() == b"new scales"
