"""trt_api.py itself (the real TensorRT and cuda-python calls) over stand-ins of the `tensorrt` and cuda-python modules
that pretend to be TensorRT 8.6 or 10.x (tests/support/tensorrt_fake_runtime.py): the whole backend runs through the
name-based tensor API both share; the 10.x stand-in lacks the binding-index API, and the 8.6 one records any use."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from harness.backends.base import BackendError
from harness.backends.tensorrt import trt_api
from harness.backends.tensorrt.backend import TensorRTBackend
from harness.backends.tensorrt.interface import BuildRequest, NmsPluginLayer
from harness.backends.tensorrt.options import TensorRTOptions
from harness.backends.tensorrt.profiles import ProfileTable
from tests.support.tensorrt_fake_runtime import FakeTensorRTModule, fake_tensorrt

SAMPLE = (3, 4, 4)


def write_model(path: Path) -> Path:
    """A real ONNX file: input [N,3,4,4], outputs `twice` and `total`, as the stand-in engine computes them."""
    graph = helper.make_graph(
        [helper.make_node("Mul", ["input", "w"], ["twice"]), helper.make_node("ReduceSum", ["input"], ["total"])],
        "tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", *SAMPLE])],
        [
            helper.make_tensor_value_info("twice", TensorProto.FLOAT16, ["N", *SAMPLE]),
            helper.make_tensor_value_info("total", TensorProto.FLOAT, ["N", 1]),
        ],
        [helper.make_tensor("w", TensorProto.FLOAT, [1], [2.0])],
    )
    onnx.save(helper.make_model(graph), str(path))
    return path


def backend_over(module: FakeTensorRTModule, cudart: object, tmp_path: Path, **options: object) -> TensorRTBackend:
    opts = TensorRTOptions(cache_dir=tmp_path / "engines", **options)  # type: ignore[arg-type]
    return TensorRTBackend(
        benchmark="resnet50",
        precision="fp16",
        output_names=("twice", "total"),
        options=opts,
        runtime_factory=lambda index: trt_api._RealTrtRuntime(module, cudart, index),
    )


def test_the_backend_runs_through_trt_api_on_the_shared_name_based_api(tmp_path: Path, trt_version: str) -> None:
    module, cudart = fake_tensorrt(trt_version)
    backend = backend_over(module, cudart, tmp_path, batch_sizes=(1, 8), streams=2)
    backend.load(write_model(tmp_path / "m.onnx"))
    for count in (8, 3):
        x = np.arange(count * 48, dtype=np.float32).reshape(count, *SAMPLE)
        twice, total = backend.infer(x)
        np.testing.assert_allclose(twice, 2 * x, rtol=1e-3)
        np.testing.assert_allclose(total[:, 0], x.reshape(count, -1).sum(axis=1))
    assert backend.info().details["engine_key.tensorrt_version"] == trt_version
    backend.close()
    assert module.deprecated_calls == []  # no binding-index call on 8.6 either
    assert module.workspace_limits  # memory pool limits, not max_workspace_size


def test_network_flags_follow_the_major_version(tmp_path: Path, trt_version: str) -> None:
    module, cudart = fake_tensorrt(trt_version)
    backend_over(module, cudart, tmp_path, batch_sizes=(1,)).load(write_model(tmp_path / "m.onnx"))
    # 8.6 asks for explicit batch; in 10 it is the only mode and the flag is deprecated.
    assert module.network_flags == ([1] if trt_version.startswith("8.") else [0])


def test_the_10x_stand_in_lacks_the_binding_index_api(tmp_path: Path) -> None:
    module, cudart = fake_tensorrt("10.14.1")
    runtime = trt_api._RealTrtRuntime(module, cudart, 0)
    engine = runtime.deserialize(_built(runtime, tmp_path))
    raw = engine._engine  # type: ignore[attr-defined]
    context = raw.create_execution_context()
    for obj, name in [(raw, "get_binding_shape"), (raw, "num_bindings"), (context, "execute_async_v2")]:
        with pytest.raises(AttributeError):
            getattr(obj, name)
    config = module.Builder(None).create_builder_config()
    with pytest.raises(AttributeError):
        config.max_workspace_size = 1 << 30


def test_nms_plugin_creator_is_looked_up_by_each_versions_own_call(tmp_path: Path, trt_version: str) -> None:
    module, cudart = fake_tensorrt(trt_version)
    runtime = trt_api._RealTrtRuntime(module, cudart, 0)
    nms = NmsPluginLayer("twice", "total", {"max_output_boxes": 100, "iou_threshold": 0.5})
    table = ProfileTable.create("input", SAMPLE, [1])
    request = BuildRequest(write_model(tmp_path / "m.onnx"), "fp16", table.profiles(), 1 << 20, nms=nms)
    engine = runtime.deserialize(runtime.build_engine(request))
    names = [b.name for b in engine.bindings()]
    assert names[1:] == ["num_detections", "detection_boxes", "detection_scores", "detection_classes"]
    assert module.deprecated_calls == []  # 10 uses get_creator, not the deprecated get_plugin_creator


def test_int8_calibration_runs_on_both_and_is_refused_where_tensorrt_lacks_it(tmp_path: Path, trt_version: str) -> None:
    module, cudart = fake_tensorrt(trt_version)
    runtime = trt_api._RealTrtRuntime(module, cudart, 0)
    source = _Source()
    runtime.deserialize(_built(runtime, tmp_path, "int8", source))
    assert module.calibration_batches == 2 and source.cache is not None
    del module.IInt8EntropyCalibrator2  # as TensorRT 11 will be: implicit INT8 calibration removed
    with pytest.raises(BackendError, match="no implicit INT8 calibration"):
        _built(runtime, tmp_path, "int8", _Source())


def test_an_engine_of_another_tensorrt_does_not_deserialize(tmp_path: Path) -> None:
    old, old_cudart = fake_tensorrt("8.6.1")
    data = _built(trt_api._RealTrtRuntime(old, old_cudart, 0), tmp_path)
    new, new_cudart = fake_tensorrt("10.14.1")
    with pytest.raises(BackendError, match="another TensorRT version"):
        trt_api._RealTrtRuntime(new, new_cudart, 0).deserialize(data)


@pytest.mark.parametrize("version", ["8.5.3", "9.3.0", "11.1.0", "x"])
def test_unsupported_tensorrt_versions_are_refused(version: str) -> None:
    module, cudart = fake_tensorrt("10.14.1")
    module.__version__ = version
    with pytest.raises(BackendError, match=r"not supported|unreadable"):
        trt_api._RealTrtRuntime(module, cudart, 0)


class _Source:
    batch_size = 2

    def __init__(self) -> None:
        self.batches = [np.ones((2, *SAMPLE), np.float32), np.zeros((2, *SAMPLE), np.float32)]
        self.cache: bytes | None = None

    def next_batch(self) -> np.ndarray | None:
        return self.batches.pop() if self.batches else None

    def read_cache(self) -> bytes | None:
        return self.cache

    def write_cache(self, data: bytes) -> None:
        self.cache = data


def _built(runtime: trt_api._RealTrtRuntime, tmp_path: Path, precision: str = "fp16", source: object = None) -> bytes:
    profiles = ProfileTable.create("input", SAMPLE, [2]).profiles()
    model = write_model(tmp_path / "m.onnx")
    return runtime.build_engine(BuildRequest(model, precision, profiles, 1 << 20, calibration=source))  # type: ignore[arg-type]
