"""The engine cache: hits, misses, rebuilds and refusals, and a key that changes with every input."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from harness.backends.tensorrt.engine_cache import (
    EngineCache,
    EngineCacheError,
    EngineKey,
    check_prebuilt,
    key_differences,
)
from harness.backends.tensorrt.interface import GpuIdentity

H100 = GpuIdentity("NVIDIA H100 80GB HBM3", "9.0")
KEY = EngineKey(
    gpu_name=H100.name,
    compute_capability="9.0",
    tensorrt_version="8.6.1",
    precision="fp16",
    batch_sizes=(1, 256),
    streams=2,
    profiles=({"min": [1, 3, 224, 224], "opt": [1, 3, 224, 224], "max": [1, 3, 224, 224]},),
    model_sha256="m" * 64,
)


class Builder:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> tuple[bytes, EngineKey]:
        self.calls += 1
        return f"engine #{self.calls}".encode(), KEY


def test_first_run_builds_and_writes_the_key_next_to_the_engine(tmp_path: Path) -> None:
    build = Builder()
    cached = EngineCache(tmp_path).get_or_build("resnet50", KEY, build)
    assert cached.status == "built (no cached engine)"
    assert cached.path == tmp_path / "resnet50.fp16.plan"
    assert cached.path.read_bytes() == b"engine #1"
    assert EngineKey.from_json((tmp_path / "resnet50.fp16.plan.json").read_text()) == KEY


def test_same_key_is_a_hit_without_building(tmp_path: Path) -> None:
    build = Builder()
    EngineCache(tmp_path).get_or_build("resnet50", KEY, build)
    cached = EngineCache(tmp_path).get_or_build("resnet50", KEY, build)
    assert (cached.status, cached.data, build.calls) == ("hit", b"engine #1", 1)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("gpu_name", "NVIDIA A100-SXM4-80GB"),
        ("compute_capability", "8.0"),
        ("tensorrt_version", "10.0.1"),
        ("batch_sizes", (1, 128)),
        ("streams", 4),
        ("model_sha256", "n" * 64),
        ("calibration_cache_sha256", "c" * 64),
        ("plugin_sha256", ("p" * 64,)),
        ("nms", {"iou_threshold": 0.5}),
    ],
)
def test_any_changed_input_rebuilds_and_says_which(tmp_path: Path, field: str, value: object) -> None:
    build = Builder()
    cache = EngineCache(tmp_path)
    cache.get_or_build("resnet50", KEY, build)
    changed = dataclasses.replace(KEY, **{field: value})
    assert key_differences(KEY, changed) == [f"{field}: {getattr(KEY, field)!r} -> {value!r}"]
    cached = cache.get_or_build("resnet50", changed, build)
    assert cached.status.startswith("rebuilt (its key differs: " + field)
    assert build.calls == 2


def test_engine_for_another_gpu_is_refused_with_no_rebuild(tmp_path: Path) -> None:
    EngineCache(tmp_path).get_or_build("resnet50", KEY, Builder())
    other_gpu = dataclasses.replace(KEY, gpu_name="NVIDIA L4", compute_capability="8.9")
    with pytest.raises(EngineCacheError, match=r"gpu_name.*run without --no-rebuild"):
        EngineCache(tmp_path).get_or_build("resnet50", other_gpu, Builder(), no_rebuild=True)


def test_no_rebuild_without_a_cached_engine_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(EngineCacheError, match="no engine at"):
        EngineCache(tmp_path).get_or_build("resnet50", KEY, Builder(), no_rebuild=True)


def test_engine_without_key_file_is_never_trusted(tmp_path: Path) -> None:
    (tmp_path / "resnet50.fp16.plan").write_bytes(b"mystery")
    build = Builder()
    cached = EngineCache(tmp_path).get_or_build("resnet50", KEY, build)
    assert "no key file" in cached.status and cached.data == b"engine #1"


def test_prebuilt_engine_with_a_key_for_another_tensorrt_is_refused(tmp_path: Path) -> None:
    engine = tmp_path / "kilt.plan"
    engine.write_bytes(b"engine")
    (tmp_path / "kilt.plan.json").write_text(dataclasses.replace(KEY, tensorrt_version="8.5.3").to_json())
    with pytest.raises(EngineCacheError, match=r"tensorrt_version: built for '8\.5\.3', this is '8\.6\.1'"):
        check_prebuilt(engine, H100, "8.6.1")


def test_prebuilt_engine_details_record_its_provenance(tmp_path: Path) -> None:
    engine = tmp_path / "kilt.plan"
    engine.write_bytes(b"engine")
    assert check_prebuilt(engine, H100, "8.6.1")["engine_provenance"] == "prebuilt, no key file (unchecked)"
    (tmp_path / "kilt.plan.json").write_text(KEY.to_json())
    details = check_prebuilt(engine, H100, "8.6.1")
    assert details["engine_provenance"] == "prebuilt, key checked"
    assert json.loads(details["engine_key.batch_sizes"]) == [1, 256]
    with pytest.raises(EngineCacheError, match="does not exist"):
        check_prebuilt(tmp_path / "missing.plan", H100, "8.6.1")


def test_an_86_engine_is_refused_where_tensorrt_10_runs(tmp_path: Path) -> None:
    EngineCache(tmp_path).get_or_build("resnet50", KEY, Builder())
    on_10 = dataclasses.replace(KEY, tensorrt_version="10.14.1")
    with pytest.raises(EngineCacheError, match=r"tensorrt_version: '8\.6\.1' -> '10\.14\.1'"):
        EngineCache(tmp_path).get_or_build("resnet50", on_10, Builder(), no_rebuild=True)
    with pytest.raises(EngineCacheError, match=r"built for '8\.6\.1', this is '10\.14\.1'"):
        check_prebuilt(tmp_path / "resnet50.fp16.plan", H100, "10.14.1")
