"""THE UNTESTED BOUNDARY: the only module that imports tensorrt and cuda-python (cuda.cudart).

Written for TensorRT 8.6 and 10.x (images tensorrt-8.6.1 and tensorrt-10) and cuda-python's runtime bindings.
Only the name-based tensor API the two share is used (num_io_tensors, get_tensor_*, set_input_shape,
set_tensor_address, execute_async_v3, get_tensor_profile_shape): TensorRT 10 removed the binding-index API. What
differs by major version is gated here and nowhere else (`_network_flags`, `_plugin_creator`, `_int8_calibrator_base`).
No machine available to this project has TensorRT (it runs only in NVIDIA's NGC image on a real GPU host), so nothing in
this file has been run against TensorRT; the tests drive it over a stand-in of the `tensorrt` module that pretends to be
8.6 or 10.x (tests/support/tensorrt_fake_runtime.py). It is kept thin: each method is one or a few library calls, and
all decisions (profiles, cache keys, calibration caches, buffer sizes, stream slots) live in the tested modules around
it.

The CUDA half (`CudaRuntime`: pinned and device memory, streams, copies) needs only cuda-python and is run on
an H100 by tests/gpu/test_tensorrt_cuda.py.
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np

from harness.backends.base import BackendError
from harness.backends.tensorrt.interface import (
    BindingSpec,
    BuildRequest,
    CalibrationSource,
    Engine,
    ExecutionContext,
    GpuIdentity,
    TrtRuntime,
)


def import_cudart() -> Any:
    """cuda-python's runtime module: `cuda.bindings.runtime` (cuda-python 12.6+/13) or `cuda.cudart` (older)."""
    try:
        from cuda.bindings import runtime as cudart
    except ImportError:
        from cuda import cudart
    return cudart


# TensorRT majors this module is written for: 8 (from 8.6, the first with the whole name-based API used here) and 10.
# 9 was never a general release; 11 removes the implicit INT8 calibration and the precision flags used here.
SUPPORTED_MAJORS = (8, 10)


def tensorrt_major(version: str) -> int:
    """The major version of a TensorRT version string; refused when this module is not written for it."""
    parts = version.split(".")
    try:
        major, minor = int(parts[0]), int(parts[1]) if len(parts) > 1 else 0
    except ValueError:
        raise BackendError(f"TensorRT reports an unreadable version {version!r}") from None
    if major not in SUPPORTED_MAJORS or (major, minor) < (8, 6):
        raise BackendError(
            f"TensorRT {version} is not supported: the tensorrt backend runs on 8.6 (image tensorrt-8.6.1) and 10.x "
            "(image tensorrt-10)"
        )
    return major


def _network_flags(trt: Any, major: int) -> int:
    """Explicit batch: a flag to ask for in 8.6; the only mode in 10, where the flag is deprecated and ignored."""
    if major >= 10:
        return 0
    return 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)


def _plugin_creator(trt: Any, major: int, name: str, version: str) -> Any:
    """A registered plugin creator: `get_creator` in 10 (`get_plugin_creator` is deprecated there), else 8.6's."""
    registry = trt.get_plugin_registry()
    if major >= 10:
        return registry.get_creator(name, version, "")
    return registry.get_plugin_creator(name, version)


def _int8_calibrator_base(trt: Any, version: str) -> Any:
    """The implicit-INT8 calibrator base class: deprecated since TensorRT 10.1 (superseded by explicit Q/DQ
    quantization) but still present through 10.x; a build without it says so instead of an AttributeError."""
    base = getattr(trt, "IInt8EntropyCalibrator2", None)
    if base is None:
        raise BackendError(
            f"TensorRT {version} has no implicit INT8 calibration (IInt8EntropyCalibrator2); run int8 on the "
            "tensorrt-8.6.1 or tensorrt-10 image, or give a model quantized with Q/DQ nodes and precision fp16"
        )
    return base


def load_cuda_runtime(device_index: int) -> CudaRuntime:
    """The CUDA half of the runtime alone (memory, streams, copies); needs cuda-python, not TensorRT."""
    try:
        cudart = import_cudart()
    except ImportError as exc:
        raise BackendError(f"cuda-python is not installed ({exc}): pip install cuda-python") from exc
    return CudaRuntime(cudart, device_index)


def load_real_runtime(device_index: int) -> TrtRuntime:
    """The TensorRT runtime on CUDA device `device_index`; BackendError without tensorrt/cuda-python."""
    try:
        import tensorrt as trt

        cudart = import_cudart()
    except ImportError as exc:
        raise BackendError(
            f"the tensorrt backend needs TensorRT (8.6 or 10.x) and cuda-python ({exc}); run it inside the NGC "
            "TensorRT image on an NVIDIA GPU host, or choose --backend onnxruntime / pytorch"
        ) from exc
    return _RealTrtRuntime(trt, cudart, device_index)


def _check(cudart: Any, result: tuple[Any, ...] | Any, what: str) -> Any:
    """cuda-python returns (error, value...) tuples; raise on any error."""
    err, *rest = result if isinstance(result, tuple) else (result,)
    if err != cudart.cudaError_t.cudaSuccess:
        raise BackendError(f"CUDA call {what} failed: {err}")
    return rest[0] if len(rest) == 1 else rest


class _DeviceMemory:
    def __init__(self, cudart: Any, nbytes: int) -> None:
        self._cudart = cudart
        self.nbytes = nbytes
        self.ptr = int(_check(cudart, cudart.cudaMalloc(max(nbytes, 1)), "cudaMalloc"))

    def free(self) -> None:
        if self.ptr:
            _check(self._cudart, self._cudart.cudaFree(self.ptr), "cudaFree")
            self.ptr = 0


class _Context:
    def __init__(self, context: Any, stream: Any, profile_index: int, cudart: Any) -> None:
        self._context = context
        self._stream = stream
        # TensorRT takes a stream as its integer handle; cuda-python's cudaStream_t converts with int().
        self._handle = int(stream)
        context.set_optimization_profile_async(profile_index, self._handle)
        _check(cudart, cudart.cudaStreamSynchronize(stream), "cudaStreamSynchronize")

    def execute(self, input_shapes: dict[str, tuple[int, ...]], addresses: dict[str, int]) -> None:
        for name, shape in input_shapes.items():
            if not self._context.set_input_shape(name, shape):
                raise BackendError(f"TensorRT refused input shape {shape} for {name!r}")
        for name, address in addresses.items():
            self._context.set_tensor_address(name, address)
        if not self._context.execute_async_v3(self._handle):
            raise BackendError("TensorRT execute_async_v3 failed; see the TensorRT log above")


class _Engine:
    def __init__(self, trt: Any, cudart: Any, engine: Any, runtime: Any) -> None:
        self._trt = trt
        self._cudart = cudart
        self._engine = engine
        # TensorRT requires the runtime that deserialized an engine to outlive it; holding it here guarantees that.
        self._runtime = runtime

    def bindings(self) -> list[BindingSpec]:
        specs = []
        for i in range(self._engine.num_io_tensors):
            name = self._engine.get_tensor_name(i)
            shape = tuple(self._engine.get_tensor_shape(name))
            dtype = np.dtype(self._trt.nptype(self._engine.get_tensor_dtype(name)))
            is_input = self._engine.get_tensor_mode(name) == self._trt.TensorIOMode.INPUT
            # Profile 0's max shape sizes dynamic dims other than the batch (all profiles share them).
            if any(d < 0 for d in shape[1:]) and is_input:
                shape = tuple(self._engine.get_tensor_profile_shape(name, 0)[2])
            specs.append(BindingSpec(name, tuple(int(d) for d in shape[1:]), dtype, is_input))
        return specs

    def num_profiles(self) -> int:
        return int(self._engine.num_optimization_profiles)

    def create_context(self, profile_index: int, stream: object) -> ExecutionContext:
        context = self._engine.create_execution_context()
        if context is None:
            raise BackendError("TensorRT could not create an execution context (out of GPU memory?)")
        return _Context(context, stream, profile_index, self._cudart)


def _calibrator_class(trt: Any, cudart: Any) -> type:
    base = _int8_calibrator_base(trt, str(trt.__version__))

    class EntropyCalibrator(base):  # type: ignore[misc, valid-type]
        """Feeds CalibrationSource batches to TensorRT through one device buffer."""

        def __init__(self, source: CalibrationSource) -> None:
            base.__init__(self)
            self._source = source
            self._device: _DeviceMemory | None = None

        def get_batch_size(self) -> int:
            return self._source.batch_size

        def get_batch(self, names: list[str]) -> list[int] | None:
            batch = self._source.next_batch()
            if batch is None:
                return None
            batch = np.ascontiguousarray(batch)
            if self._device is None or self._device.nbytes < batch.nbytes:
                self._device = _DeviceMemory(cudart, batch.nbytes)
            kind = cudart.cudaMemcpyKind.cudaMemcpyHostToDevice
            result = cudart.cudaMemcpy(self._device.ptr, batch.ctypes.data, batch.nbytes, kind)
            _check(cudart, result, "cudaMemcpy")
            return [self._device.ptr]

        def read_calibration_cache(self) -> bytes | None:
            return self._source.read_cache()

        def write_calibration_cache(self, cache: Any) -> None:
            self._source.write_cache(bytes(cache))

    return EntropyCalibrator


class CudaRuntime:
    """Memory, streams and copies through cuda-python: the CUDA half of the runtime, usable without TensorRT.

    Checked on an H100 by tests/gpu/test_tensorrt_cuda.py (skipped where cuda-python or a GPU is missing).
    """

    def __init__(self, cudart: Any, device_index: int) -> None:
        self._cudart = cudart
        self._device_index = device_index
        count = _check(cudart, cudart.cudaGetDeviceCount(), "cudaGetDeviceCount")
        if device_index >= count:
            raise BackendError(f"cuda:{device_index} asked for, but {count} CUDA device(s) are visible")
        _check(cudart, cudart.cudaSetDevice(device_index), "cudaSetDevice")

    def gpu(self, device_index: int) -> GpuIdentity:
        result = self._cudart.cudaGetDeviceProperties(device_index)
        props = _check(self._cudart, result, "cudaGetDeviceProperties")
        name = props.name.decode() if isinstance(props.name, bytes) else str(props.name)
        return GpuIdentity(name.rstrip("\x00"), f"{props.major}.{props.minor}")

    def alloc_host(self, nbytes: int) -> np.ndarray:
        ptr = int(_check(self._cudart, self._cudart.cudaMallocHost(max(nbytes, 1)), "cudaMallocHost"))
        return np.ctypeslib.as_array((ctypes.c_uint8 * max(nbytes, 1)).from_address(ptr))[:nbytes]

    def alloc_device(self, nbytes: int) -> _DeviceMemory:
        return _DeviceMemory(self._cudart, nbytes)

    def create_stream(self) -> object:
        return _check(self._cudart, self._cudart.cudaStreamCreate(), "cudaStreamCreate")

    def copy_to_device(self, dst: Any, src: np.ndarray, nbytes: int, stream: object) -> None:
        kind = self._cudart.cudaMemcpyKind.cudaMemcpyHostToDevice
        result = self._cudart.cudaMemcpyAsync(dst.ptr, src.ctypes.data, nbytes, kind, stream)
        _check(self._cudart, result, "cudaMemcpyAsync (host to device)")

    def copy_to_host(self, dst: np.ndarray, src: Any, nbytes: int, stream: object) -> None:
        kind = self._cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost
        result = self._cudart.cudaMemcpyAsync(dst.ctypes.data, src.ptr, nbytes, kind, stream)
        _check(self._cudart, result, "cudaMemcpyAsync (device to host)")

    def synchronize(self, stream: object) -> None:
        _check(self._cudart, self._cudart.cudaStreamSynchronize(stream), "cudaStreamSynchronize")


class _RealTrtRuntime(CudaRuntime):
    def __init__(self, trt: Any, cudart: Any, device_index: int) -> None:
        super().__init__(cudart, device_index)
        self._trt = trt
        self._major = tensorrt_major(str(trt.__version__))
        self._logger = trt.Logger(trt.Logger.WARNING)

    def tensorrt_version(self) -> str:
        return str(self._trt.__version__)

    def init_plugins(self) -> None:
        if not self._trt.init_libnvinfer_plugins(self._logger, ""):
            raise BackendError("TensorRT could not initialise its plugin library (libnvinfer_plugin)")

    def build_engine(self, request: BuildRequest) -> bytes:
        trt = self._trt
        builder = trt.Builder(self._logger)
        network = builder.create_network(_network_flags(trt, self._major))
        parser = trt.OnnxParser(network, self._logger)
        if not parser.parse(request.onnx_path.read_bytes()):
            errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
            raise BackendError(f"TensorRT could not parse {request.onnx_path}: {errors}")
        if request.nms is not None:
            self._append_nms(network, request)
        config = builder.create_builder_config()
        # Memory pool limits exist since 8.4; 10 removed max_workspace_size, so this one call serves both.
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, request.workspace_bytes)
        if request.precision in ("fp16", "int8"):
            config.set_flag(trt.BuilderFlag.FP16)
        if request.precision == "int8":
            config.set_flag(trt.BuilderFlag.INT8)
        for shape in request.profiles:
            profile = builder.create_optimization_profile()
            profile.set_shape(shape.input_name, shape.min, shape.opt, shape.max)
            config.add_optimization_profile(profile)
            if request.precision == "int8" and config.get_calibration_profile() is None:
                config.set_calibration_profile(profile)
        if request.precision == "int8":
            if request.calibration is None:
                raise BackendError("an int8 build needs a calibration source")
            config.int8_calibrator = _calibrator_class(trt, self._cudart)(request.calibration)
        serialized = builder.build_serialized_network(network, config)
        if serialized is None:
            raise BackendError(f"TensorRT failed to build an engine from {request.onnx_path}; see its log")
        return bytes(serialized)

    def _append_nms(self, network: Any, request: BuildRequest) -> None:
        trt = self._trt
        nms = request.nms
        assert nms is not None
        outputs = {network.get_output(i).name: network.get_output(i) for i in range(network.num_outputs)}
        for name in (nms.boxes_output, nms.scores_output):
            if name not in outputs:
                raise BackendError(f"NMS plugin: no network output {name!r}; outputs: {sorted(outputs)}")
        creator = _plugin_creator(trt, self._major, "EfficientNMS_TRT", "1")
        if creator is None:
            raise BackendError("EfficientNMS_TRT is not registered; libnvinfer_plugin did not load")
        fields = []
        for key, value in nms.fields.items():
            if isinstance(value, float):
                array, kind = np.array([value], np.float32), trt.PluginFieldType.FLOAT32
            else:
                array, kind = np.array([value], np.int32), trt.PluginFieldType.INT32
            fields.append(trt.PluginField(key, array, kind))
        plugin = creator.create_plugin("efficient_nms", trt.PluginFieldCollection(fields))
        boxes, scores = outputs[nms.boxes_output], outputs[nms.scores_output]
        network.unmark_output(boxes)
        network.unmark_output(scores)
        # EfficientNMS_TRT is an IPluginV2 plugin: add_plugin_v2 serves it in 8.6 and 10 (deprecated, not removed).
        layer = network.add_plugin_v2([boxes, scores], plugin)
        names = ("num_detections", "detection_boxes", "detection_scores", "detection_classes")
        for i, name in enumerate(names):
            layer.get_output(i).name = name
            network.mark_output(layer.get_output(i))

    def deserialize(self, data: bytes) -> Engine:
        runtime = self._trt.Runtime(self._logger)
        engine = runtime.deserialize_cuda_engine(data)
        if engine is None:
            raise BackendError(
                "TensorRT could not deserialize the engine (built by another TensorRT version or for another "
                "GPU, or a plugin it needs is not loaded); rebuild it or pass the plugin with --plugin"
            )
        return _Engine(self._trt, self._cudart, engine, runtime)
