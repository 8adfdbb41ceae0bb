"""The TensorRT backend end to end over the TensorRT stand-in (tests/support/tensorrt_fake_runtime.py).

Everything but the TensorRT/CUDA calls is the real code: ONNX input reading, engine cache, calibration cache,
profiles, pinned/device buffers over several streams, plugin loading and output ordering.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from harness.backends.base import Backend, BackendError
from harness.backends.registry import get_backend
from harness.backends.tensorrt import trt_api
from harness.backends.tensorrt.backend import TensorRTBackend, TensorRTOptions
from harness.backends.tensorrt.calibration import CalibrationError
from harness.backends.tensorrt.engine_cache import EngineCacheError
from harness.backends.tensorrt.interface import GpuIdentity
from harness.backends.tensorrt.plugins import PluginError
from tests.support.tensorrt_fake_runtime import FakeTrtRuntime

SAMPLE = (3, 4, 4)


def write_model(path: Path, scale: float = 1.0) -> Path:
    """A real ONNX file (input 'input' [N,3,4,4]); `scale` changes its weights and so its sha256."""
    weight = helper.make_tensor("w", TensorProto.FLOAT, [1], [scale])
    graph = helper.make_graph(
        [helper.make_node("Mul", ["input", "w"], ["twice"])],
        "tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", *SAMPLE])],
        [helper.make_tensor_value_info("twice", TensorProto.FLOAT, ["N", *SAMPLE])],
        [weight],
    )
    onnx.save(helper.make_model(graph), str(path))
    return path


def make_backend(
    runtime: FakeTrtRuntime,
    tmp_path: Path,
    precision: str = "fp16",
    benchmark: str = "resnet50",
    output_names: tuple[str, ...] = (),
    **options: object,
) -> TensorRTBackend:
    opts = TensorRTOptions(cache_dir=tmp_path / "engines", **options)  # type: ignore[arg-type]
    return TensorRTBackend(
        benchmark=benchmark,
        device="cuda",
        precision=precision,
        output_names=output_names,
        options=opts,
        runtime_factory=lambda _index: runtime,
    )


def batch_of(count: int) -> np.ndarray:
    return np.arange(count * 48, dtype=np.float32).reshape(count, *SAMPLE)


def test_outputs_come_back_through_the_buffers_for_full_and_partial_batches(tmp_path: Path, trt_version: str) -> None:
    runtime = FakeTrtRuntime(version=trt_version)
    backend = make_backend(runtime, tmp_path, batch_sizes=(1, 8), streams=2)
    backend.load(write_model(tmp_path / "m.onnx"))
    for count in (8, 5, 1):
        x = batch_of(count)
        twice, total = backend.infer(x)
        assert twice.dtype == np.float16 and twice.shape == (count, *SAMPLE)
        np.testing.assert_allclose(twice, 2 * x, rtol=1e-3)
        np.testing.assert_allclose(total[:, 0], x.reshape(count, -1).sum(axis=1))
    used = [c.calls for e in runtime.engines for c in e.contexts if c.calls]
    assert sorted(b for calls in used for b in calls) == [1, 5, 8]  # 5 ran on the batch-8 profile


def test_outputs_follow_the_benchmarks_order_and_missing_names_are_errors(tmp_path: Path, trt_version: str) -> None:
    backend = make_backend(FakeTrtRuntime(version=trt_version), tmp_path, output_names=("total", "twice"))
    backend.load(write_model(tmp_path / "m.onnx"))
    total, twice = backend.infer(batch_of(1))
    assert total.shape == (1, 1) and twice.shape == (1, *SAMPLE)
    wrong = make_backend(FakeTrtRuntime(version=trt_version), tmp_path, output_names=("boxes",))
    with pytest.raises(BackendError, match=r"no output\(s\) \['boxes'\]"):
        wrong.load(write_model(tmp_path / "m.onnx"))


def test_concurrent_calls_each_get_their_own_stream_and_results(tmp_path: Path, trt_version: str) -> None:
    backend = make_backend(FakeTrtRuntime(version=trt_version), tmp_path, batch_sizes=(4,), streams=3)
    backend.load(write_model(tmp_path / "m.onnx"))
    results: dict[int, np.ndarray] = {}

    def work(i: int) -> None:
        for _ in range(20):
            results[i] = backend.infer(np.full((4, *SAMPLE), i, np.float32))[1]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, total in results.items():
        np.testing.assert_allclose(total[:, 0], np.full(4, 48.0 * i))


def test_engine_is_cached_and_the_key_is_recorded_with_the_results(tmp_path: Path, trt_version: str) -> None:
    runtime = FakeTrtRuntime(version=trt_version)
    model = write_model(tmp_path / "m.onnx")
    first = make_backend(runtime, tmp_path, batch_sizes=(1, 16))
    first.load(model)
    second = make_backend(runtime, tmp_path, batch_sizes=(1, 16))
    second.load(model)
    assert len(runtime.builds) == 1
    info = second.info()
    assert info.details["engine_cache"] == "hit"
    assert info.details["engine_key.gpu_name"] == "NVIDIA H100 80GB HBM3"
    assert info.details["engine_key.tensorrt_version"] == trt_version
    assert json.loads(info.details["engine_key.batch_sizes"]) == [1, 16]
    assert (info.backend, info.precision, info.device) == (
        "tensorrt",
        "fp16",
        "cuda:0 (NVIDIA H100 80GB HBM3, sm 9.0)",
    )


def test_new_weights_another_gpu_or_tensorrt_rebuild_and_no_rebuild_refuses(tmp_path: Path, trt_version: str) -> None:
    runtime = FakeTrtRuntime(version=trt_version)
    model = write_model(tmp_path / "m.onnx")
    make_backend(runtime, tmp_path).load(model)
    write_model(model, scale=3.0)
    make_backend(runtime, tmp_path).load(model)
    assert len(runtime.builds) == 2
    other = FakeTrtRuntime(gpu_identity=GpuIdentity("NVIDIA A100-SXM4-80GB", "8.0"))
    with pytest.raises(EngineCacheError, match=r"compute_capability: '9\.0' -> '8\.0'"):
        make_backend(other, tmp_path, no_rebuild=True).load(model)
    newer = FakeTrtRuntime(version=trt_version + ".1")
    backend = make_backend(newer, tmp_path)
    backend.load(model)
    assert backend.info().details["engine_cache"].startswith("rebuilt (its key differs: tensorrt_version")


def calibration_options(tmp_path: Path) -> dict[str, object]:
    names = [f"ILSVRC2012_val_{i:08d}.JPEG" for i in range(1, 6)]
    (tmp_path / "cal.txt").write_text("\n".join(names) + "\n")
    return {
        "calibration_list": tmp_path / "cal.txt",
        "calibration_loader": lambda name: np.full(SAMPLE, int(name[-9:-5]), np.float32),
        "calibration_batch_size": 2,
        "batch_sizes": (1, 4),
    }


def test_int8_calibrates_once_then_reuses_cache_and_engine(tmp_path: Path, trt_version: str) -> None:
    runtime = FakeTrtRuntime(version=trt_version)
    model = write_model(tmp_path / "m.onnx")
    first = make_backend(runtime, tmp_path, "int8", **calibration_options(tmp_path))
    first.load(model)
    assert runtime.calibration_batches_seen == 3  # 5 images in batches of 2, the last padded
    assert (tmp_path / "engines" / "m.calib").exists()
    calibration_sha = first.info().details["engine_key.calibration_cache_sha256"]
    assert len(calibration_sha) == 64
    second = make_backend(runtime, tmp_path, "int8", **calibration_options(tmp_path))
    second.load(model)
    assert second.info().details["engine_cache"] == "hit"
    assert (len(runtime.builds), runtime.calibration_batches_seen) == (1, 3)


def test_int8_with_new_weights_recalibrates_and_rebuilds(tmp_path: Path, trt_version: str) -> None:
    runtime = FakeTrtRuntime(version=trt_version)
    model = write_model(tmp_path / "m.onnx")
    make_backend(runtime, tmp_path, "int8", **calibration_options(tmp_path)).load(model)
    write_model(model, scale=0.5)
    backend = make_backend(runtime, tmp_path, "int8", **calibration_options(tmp_path))
    backend.load(model)
    assert (len(runtime.builds), runtime.calibration_batches_seen) == (2, 6)
    refusing = make_backend(
        FakeTrtRuntime(version=trt_version),
        tmp_path,
        "int8",
        recalibrate_mismatched=False,
        **calibration_options(tmp_path),
    )
    write_model(model, scale=0.25)
    with pytest.raises(CalibrationError, match="made for other weights"):
        refusing.load(model)


def test_int8_without_a_calibration_list_is_an_error(tmp_path: Path, trt_version: str) -> None:
    with pytest.raises(CalibrationError, match="--calibration-list"):
        make_backend(FakeTrtRuntime(version=trt_version), tmp_path, "int8").load(write_model(tmp_path / "m.onnx"))


def test_missing_plugin_is_a_clear_error_and_loaded_plugins_enter_the_key(tmp_path: Path, trt_version: str) -> None:
    with pytest.raises(PluginError, match=r"nms\.so does not exist; pass a built \.so with --plugin"):
        make_backend(FakeTrtRuntime(version=trt_version), tmp_path, plugins=(tmp_path / "nms.so",)).load(
            tmp_path / "m.onnx"
        )
    not_a_library = tmp_path / "broken.so"
    not_a_library.write_text("not ELF")
    with pytest.raises(PluginError, match="could not be loaded"):
        make_backend(FakeTrtRuntime(version=trt_version), tmp_path, plugins=(not_a_library,)).load(tmp_path / "m.onnx")


def test_real_shared_library_loads_as_a_plugin_and_is_recorded(tmp_path: Path, trt_version: str) -> None:
    libm = next(
        (p for p in (Path("/lib/x86_64-linux-gnu/libm.so.6"), Path("/usr/lib64/libm.so.6")) if p.exists()),
        None,
    )
    if libm is None:
        pytest.skip("no libm.so.6 at a known path")
    runtime = FakeTrtRuntime(version=trt_version)
    backend = make_backend(runtime, tmp_path, plugins=(libm,))
    backend.load(write_model(tmp_path / "m.onnx"))
    assert backend.info().details["plugins"] == str(libm)
    assert json.loads(backend.info().details["engine_key.plugin_sha256"])[0] != ""
    assert runtime.plugins_initialised == 1


def test_prebuilt_engine_is_accepted_without_onnx_and_its_key_checked(tmp_path: Path, trt_version: str) -> None:
    runtime = FakeTrtRuntime(version=trt_version)
    built = make_backend(runtime, tmp_path, batch_sizes=(2,), streams=1)
    built.load(write_model(tmp_path / "m.onnx"))
    engine = tmp_path / "engines" / "m.fp16.plan"
    backend = make_backend(runtime, tmp_path, engine=engine, batch_sizes=(2,), streams=1)
    backend.load(tmp_path / "not-needed.onnx")
    assert backend.info().details["engine_provenance"] == "prebuilt, key checked"
    np.testing.assert_allclose(backend.infer(batch_of(2))[0], 2 * batch_of(2))
    mismatched = make_backend(runtime, tmp_path, engine=engine, batch_sizes=(2, 4), streams=1)
    with pytest.raises(BackendError, match="1 optimisation profiles but 1 stream"):
        mismatched.load(tmp_path / "not-needed.onnx")


def test_gpu_nms_settings_reach_the_build_and_the_key(tmp_path: Path, trt_version: str) -> None:
    runtime = FakeTrtRuntime(version=trt_version)
    backend = make_backend(runtime, tmp_path, benchmark="retinanet", nms="gpu")
    backend.load(write_model(tmp_path / "m.onnx"))
    request = runtime.builds[0]
    assert request.nms is not None and request.nms.fields["max_output_boxes"] == 300
    assert json.loads(backend.info().details["engine_key.nms"])["iou_threshold"] == 0.5


@pytest.mark.parametrize("device", ["cpu", "gpu", "cuda:x"])
def test_non_cuda_device_is_an_error(device: str, trt_version: str) -> None:
    with pytest.raises(BackendError, match="runs on CUDA only"):
        TensorRTBackend(
            benchmark="resnet50", device=device, runtime_factory=lambda _i: FakeTrtRuntime(version=trt_version)
        )


def test_without_tensorrt_installed_the_real_runtime_says_where_it_runs(tmp_path: Path) -> None:
    backend = TensorRTBackend(benchmark="resnet50", options=TensorRTOptions(cache_dir=tmp_path))
    with pytest.raises(BackendError, match="NGC TensorRT image"):
        backend.load(write_model(tmp_path / "m.onnx"))


def test_bad_inputs_are_errors(tmp_path: Path, trt_version: str) -> None:
    with pytest.raises(BackendError, match="supports fp32, fp16, int8"):
        TensorRTBackend(benchmark="resnet50", precision="bf16")
    backend = make_backend(FakeTrtRuntime(version=trt_version), tmp_path)
    with pytest.raises(BackendError, match="call load"):
        backend.infer(batch_of(1))
    backend.load(write_model(tmp_path / "m.onnx"))
    with pytest.raises(BackendError, match="does not match the engine input 'input'"):
        backend.infer(np.zeros((1, 3, 5, 5), np.float32))
    with pytest.raises(BackendError, match="does not exist"):
        make_backend(FakeTrtRuntime(version=trt_version), tmp_path).load(tmp_path / "absent.onnx")


def test_close_frees_device_memory(tmp_path: Path, trt_version: str) -> None:
    runtime = FakeTrtRuntime(version=trt_version)
    backend = make_backend(runtime, tmp_path, streams=2)
    backend.load(write_model(tmp_path / "m.onnx"))
    assert len(runtime.device_buffers) == 6  # 3 bindings x 2 streams
    assert not any(b.freed for b in runtime.device_buffers)
    backend.close()
    assert all(b.freed for b in runtime.device_buffers)
    with pytest.raises(BackendError, match="call load"):
        backend.infer(batch_of(1))


def test_registry_options_become_the_options_dataclass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, trt_version: str
) -> None:
    runtime = FakeTrtRuntime(version=trt_version)
    options: dict[str, object] = {"batch_sizes": [4], "cache_dir": tmp_path}  # a JSON list, as the CLI passes it
    backend = tensorrt_backend_of_registry(runtime, monkeypatch, 4, options)
    backend.load(write_model(tmp_path / "m.onnx"))
    total, _twice = backend.infer(batch_of(4))
    assert total.shape == (4, 1)
    assert backend.info().details["batch_sizes"] == "4"


def tensorrt_backend_of_registry(
    runtime: FakeTrtRuntime, monkeypatch: pytest.MonkeyPatch, batch_size: int, options: dict[str, object]
) -> Backend:
    """The backend as a run gets it: through the registry, with the run's batch size and the spec's options.
    The registry always takes the real runtime; the stand-in replaces its loader."""
    monkeypatch.setattr(trt_api, "load_real_runtime", lambda _index: runtime)
    return get_backend(
        "tensorrt",
        benchmark="resnet50",
        device="cuda",
        precision="fp16",
        threads=None,
        output_names=("total", "twice"),
        options=options,
        batch_size=batch_size,
    )


def test_default_profile_follows_the_runs_batch_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, trt_version: str
) -> None:
    runtime = FakeTrtRuntime(version=trt_version)
    backend = tensorrt_backend_of_registry(runtime, monkeypatch, 64, {"cache_dir": tmp_path})
    backend.load(write_model(tmp_path / "m.onnx"))
    (built,) = runtime.builds
    assert [profile.max[0] for profile in built.profiles] == [64, 64]  # one profile of 64, one copy per stream
    assert backend.infer(batch_of(64))[0].shape == (64, 1)


def test_batch_sizes_that_do_not_admit_the_runs_batch_size_are_refused_before_any_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, trt_version: str
) -> None:
    runtime = FakeTrtRuntime(version=trt_version)
    options: dict[str, object] = {"cache_dir": tmp_path, "batch_sizes": [1, 8, 32]}
    with pytest.raises(BackendError, match=r"batch size 64 .* \[1, 8, 32\]; add 64 to batch_sizes") as refused:
        tensorrt_backend_of_registry(runtime, monkeypatch, 64, options)
    assert "\n" not in str(refused.value) and runtime.builds == []
