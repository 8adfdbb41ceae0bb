"""STAND-IN for TensorRT and the CUDA runtime (`harness.backends.tensorrt.interface.TrtRuntime`), tests only.

TensorRT cannot run on any machine of this project, so the tests put this at that boundary and nothing else.
It behaves like the real thing where the backend depends on it: "engines" are serialized bytes that record
what they were built from, device memory is real bytes copied in and out, contexts read their input from the
bound device address and write outputs to the bound output addresses, and an INT8 build reads the calibration
cache or pulls every calibration batch and writes a new one. Model: total = sum of each sample, twice = 2x.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.backends.base import BackendError
from harness.backends.tensorrt.interface import BindingSpec, BuildRequest, GpuIdentity


@dataclass
class FakeDeviceBuffer:
    ptr: int
    nbytes: int
    memory: dict[int, bytearray]
    freed: bool = False

    def free(self) -> None:
        self.freed = True


class FakeContext:
    def __init__(self, runtime: FakeTrtRuntime, profile: dict, sample_shape: tuple[int, ...]) -> None:
        self.runtime = runtime
        self.profile = profile
        self.sample_shape = sample_shape
        self.calls: list[int] = []

    def execute(self, input_shapes: dict[str, tuple[int, ...]], addresses: dict[str, int]) -> None:
        ((name, shape),) = input_shapes.items()
        if not self.profile["min"][0] <= shape[0] <= self.profile["max"][0]:
            raise AssertionError(f"batch {shape[0]} outside the context's profile {self.profile}")
        self.calls.append(shape[0])
        memory = self.runtime.memory
        count = shape[0]
        size = int(np.prod(shape)) * 4
        x = np.frombuffer(bytes(memory[addresses[name]][:size]), np.float32).reshape(shape)
        total = x.reshape(count, -1).sum(axis=1, keepdims=True).astype(np.float32)
        twice = (2 * x).astype(np.float16)
        memory[addresses["total"]][: total.nbytes] = total.tobytes()
        memory[addresses["twice"]][: twice.nbytes] = twice.tobytes()


class FakeEngine:
    def __init__(self, runtime: FakeTrtRuntime, recipe: dict) -> None:
        self.runtime = runtime
        self.recipe = recipe
        self.contexts: list[FakeContext] = []

    def bindings(self) -> list[BindingSpec]:
        sample = tuple(self.recipe["sample_shape"])
        return [
            BindingSpec(self.recipe["input_name"], sample, np.dtype(np.float32), True),
            BindingSpec("twice", sample, np.dtype(np.float16), False),
            BindingSpec("total", (1,), np.dtype(np.float32), False),
        ]

    def num_profiles(self) -> int:
        return len(self.recipe["profiles"])

    def create_context(self, profile_index: int, stream: object) -> FakeContext:
        context = FakeContext(self.runtime, self.recipe["profiles"][profile_index], tuple(self.recipe["sample_shape"]))
        self.contexts.append(context)
        return context


@dataclass
class FakeTrtRuntime:
    gpu_identity: GpuIdentity = field(default_factory=lambda: GpuIdentity("NVIDIA H100 80GB HBM3", "9.0"))
    version: str = "8.6.1"  # the TensorRT it pretends to be; tests run it as 8.6.1 and 10.14.1 (conftest)
    builds: list[BuildRequest] = field(default_factory=list)
    engines: list[FakeEngine] = field(default_factory=list)
    memory: dict[int, bytearray] = field(default_factory=dict)
    device_buffers: list[FakeDeviceBuffer] = field(default_factory=list)
    streams: list[int] = field(default_factory=list)
    plugins_initialised: int = 0
    calibration_batches_seen: int = 0

    def tensorrt_version(self) -> str:
        return self.version

    def gpu(self, device_index: int) -> GpuIdentity:
        return self.gpu_identity

    def init_plugins(self) -> None:
        self.plugins_initialised += 1

    def build_engine(self, request: BuildRequest) -> bytes:
        self.builds.append(request)
        if request.precision == "int8":
            source = request.calibration
            assert source is not None
            if source.read_cache() is None:
                digest = hashlib.sha256()
                while (batch := source.next_batch()) is not None:
                    assert batch.shape[0] == source.batch_size
                    digest.update(batch.tobytes())
                    self.calibration_batches_seen += 1
                header = f"TRT-{self.version}-EntropyCalibration2\n".encode()
                source.write_cache(header + digest.hexdigest().encode())
        first = request.profiles[0]
        recipe = {
            "input_name": first.input_name,
            "sample_shape": list(first.max[1:]),
            "profiles": [p.as_dict() for p in request.profiles],
            "precision": request.precision,
            "nms": request.nms.fields if request.nms else None,
            "build": len(self.builds),
            "tensorrt_version": self.version,
        }
        return json.dumps(recipe).encode()

    def deserialize(self, data: bytes) -> FakeEngine:
        recipe = json.loads(data)
        if recipe["tensorrt_version"] != self.version:
            # As trt_api says when TensorRT's deserialize_cuda_engine returns None for a plan of another version.
            raise BackendError("TensorRT could not deserialize the engine (built by another TensorRT version)")
        engine = FakeEngine(self, recipe)
        self.engines.append(engine)
        return engine

    def alloc_host(self, nbytes: int) -> np.ndarray:
        return np.zeros(nbytes, np.uint8)

    def alloc_device(self, nbytes: int) -> FakeDeviceBuffer:
        ptr = 0x7F0000000000 + len(self.memory) * 0x100000
        self.memory[ptr] = bytearray(nbytes)
        self.device_buffers.append(FakeDeviceBuffer(ptr, nbytes, self.memory))
        return self.device_buffers[-1]

    def create_stream(self) -> object:
        self.streams.append(len(self.streams) + 1)
        return self.streams[-1]

    def copy_to_device(self, dst: FakeDeviceBuffer, src: np.ndarray, nbytes: int, stream: object) -> None:
        assert nbytes <= dst.nbytes, "copy overruns the device buffer"
        self.memory[dst.ptr][:nbytes] = src[:nbytes].tobytes()

    def copy_to_host(self, dst: np.ndarray, src: FakeDeviceBuffer, nbytes: int, stream: object) -> None:
        assert nbytes <= dst.nbytes, "copy overruns the host buffer"
        dst[:nbytes] = np.frombuffer(bytes(self.memory[src.ptr][:nbytes]), np.uint8)

    def synchronize(self, stream: object) -> None:
        pass


# ---------------------------------------------------------------------------------------------------------------------
# STAND-IN for the `tensorrt` Python module itself and for cuda-python's runtime module, tests only.
#
# These let the tests drive harness/backends/tensorrt/trt_api.py (the real calls) rather than the protocol above.
# `fake_tensorrt(version)` pretends to be TensorRT 8.6 or 10.x, after NVIDIA's documented Python API: both have the
# name-based tensor API; only 8.6 has the binding-index API that 10 removed (get_binding_*, execute_async_v2,
# max_workspace_size, ...). On the 8.6 stand-in those record a call in `module.deprecated_calls`; on the 10.x stand-in
# they do not exist, so using them fails. The "ONNX parser" reads the real ONNX file's inputs and outputs with `onnx`;
# the "engine" computes outputs by name as FakeContext does: `twice` = 2x (fp16), `total` = each sample's sum.

REMOVED_IN_10 = {
    "engine": (
        "num_bindings",
        "get_binding_index",
        "get_binding_name",
        "get_binding_shape",
        "get_binding_dtype",
        "binding_is_input",
        "get_profile_shape",
        "max_batch_size",
    ),
    "context": ("execute_async_v2", "execute_v2", "execute_async", "set_binding_shape", "get_binding_shape"),
    "builder": ("build_engine", "max_batch_size"),
}


# The stand-in's own records and plumbing, which the tests read: not TensorRT's names. Every other public name of the
# `tensorrt` stand-in is one of TensorRT's, checked against the real bindings by test_trt_api.py.
NOT_TENSORRT_NAMES = frozenset(
    {
        "addresses",
        "calibration_batches",
        "calibration_profile",
        "deprecated_calls",
        "device_memory",
        "inputs",
        "major",
        "module",
        "network",
        "network_flags",
        "nms",
        "outputs",
        "profile",
        "profiles",
        "recipe",
        "registry",
        "severity",
        "shapes",
        "tensors",
        "workspace_limits",
    }
)


def _recorder(module: FakeTensorRTModule, where: str, name: str) -> object:
    def deprecated(*_args: object, **_kwargs: object) -> None:
        module.deprecated_calls.append(f"{where}.{name}")

    return deprecated


def _with_removed_api(obj: object, module: FakeTensorRTModule, where: str) -> object:
    """8.6 only: the binding-index API exists (deprecated) and records any use."""
    if module.major < 10:
        for name in REMOVED_IN_10[where]:
            object.__setattr__(obj, name, _recorder(module, where, name))
    return obj


class _Enum:
    def __init__(self, *names: str) -> None:
        for index, name in enumerate(names):
            setattr(self, name, index)


class FakeTensorRTModule:
    """What trt_api reads from `import tensorrt`, for one TensorRT version."""

    def __init__(self, version: str) -> None:
        self.__version__ = version
        self.major = int(version.split(".")[0])
        self.deprecated_calls: list[str] = []
        self.device_memory: dict[int, bytearray] = {}  # shared with FakeCudart: "device" pointers to bytes
        self.network_flags: list[int] = []
        self.workspace_limits: list[int] = []
        self.calibration_batches = 0
        self.Logger = _FakeLogger
        self.TensorIOMode = _Enum("NONE", "INPUT", "OUTPUT")
        self.MemoryPoolType = _Enum("WORKSPACE")
        self.BuilderFlag = _Enum("FP16", "INT8")
        self.NetworkDefinitionCreationFlag = _Enum("EXPLICIT_BATCH")
        self.PluginFieldType = _Enum("FLOAT32", "INT32")
        self.IInt8EntropyCalibrator2 = _FakeCalibratorBase
        self.registry = _FakeRegistry(self)

    def nptype(self, dtype: str) -> type:
        return {"float32": np.float32, "float16": np.float16}[dtype]

    def init_libnvinfer_plugins(self, _logger: object, _namespace: str) -> bool:
        return True

    def get_plugin_registry(self) -> _FakeRegistry:
        return self.registry

    def PluginField(self, name: str, data: np.ndarray, kind: int) -> tuple[str, float]:
        return (name, float(data[0]))

    def PluginFieldCollection(self, fields: list) -> dict:
        return dict(fields)

    def Builder(self, _logger: object) -> _FakeBuilder:
        return _with_removed_api(_FakeBuilder(self), self, "builder")  # type: ignore[return-value]

    def OnnxParser(self, network: _FakeNetwork, _logger: object) -> _FakeParser:
        return _FakeParser(network)

    def Runtime(self, _logger: object) -> _FakeRuntime:
        return _FakeRuntime(self)


class _FakeLogger:
    WARNING = 2

    def __init__(self, severity: int) -> None:
        self.severity = severity


class _FakeCalibratorBase:
    def __init__(self) -> None:
        pass


class _FakeRegistry:
    def __init__(self, module: FakeTensorRTModule) -> None:
        self.module = module
        if module.major >= 10:
            self.get_creator = self._creator

    def get_plugin_creator(self, name: str, version: str) -> _FakeCreator | None:
        if self.module.major >= 10:  # present in 10 but deprecated: trt_api must not use it there
            self.module.deprecated_calls.append("registry.get_plugin_creator")
        return self._creator(name, version, "")

    def _creator(self, name: str, version: str, _namespace: str) -> _FakeCreator | None:
        return _FakeCreator() if (name, version) == ("EfficientNMS_TRT", "1") else None


class _FakeCreator:
    def create_plugin(self, name: str, fields: dict) -> dict:
        return {"name": name, "fields": fields}


@dataclass
class _FakeTensor:
    name: str
    shape: tuple[int, ...]
    dtype: str


class _FakeNetwork:
    def __init__(self) -> None:
        self.inputs: list[_FakeTensor] = []
        self.outputs: list[_FakeTensor] = []
        self.nms: dict | None = None

    @property
    def num_outputs(self) -> int:
        return len(self.outputs)

    def get_output(self, index: int) -> _FakeTensor:
        return self.outputs[index]

    def unmark_output(self, tensor: _FakeTensor) -> None:
        self.outputs.remove(tensor)

    def mark_output(self, tensor: _FakeTensor) -> None:
        self.outputs.append(tensor)

    def add_plugin_v2(self, inputs: list[_FakeTensor], plugin: dict) -> object:
        self.nms = plugin["fields"]
        layer_outputs = [_FakeTensor(f"nms_{i}", (-1, 1), "float32") for i in range(4)]
        return type("Layer", (), {"get_output": lambda _self, i: layer_outputs[i]})()


class _FakeParser:
    def __init__(self, network: _FakeNetwork) -> None:
        self.network = network
        self.num_errors = 0

    def parse(self, data: bytes) -> bool:
        import onnx

        graph = onnx.load_from_string(data).graph
        for values, into in ((graph.input, self.network.inputs), (graph.output, self.network.outputs)):
            for value in values:
                dims = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in value.type.tensor_type.shape.dim)
                into.append(_FakeTensor(value.name, dims, "float16" if value.name == "twice" else "float32"))
        return True


class _FakeConfig:
    # Slots, so an attribute 10 does not have (max_workspace_size) cannot be set on the 10.x stand-in either.
    __slots__ = ("calibration_profile", "flags", "int8_calibrator", "module", "profiles")

    def __init__(self, module: FakeTensorRTModule) -> None:
        self.module = module
        self.flags: set[int] = set()
        self.profiles: list[dict] = []
        self.calibration_profile: dict | None = None
        self.int8_calibrator: object = None

    def set_memory_pool_limit(self, _pool: int, size: int) -> None:
        self.module.workspace_limits.append(size)

    def set_flag(self, flag: int) -> None:
        self.flags.add(flag)

    def add_optimization_profile(self, profile: dict) -> int:
        self.profiles.append(profile)
        return len(self.profiles) - 1

    def get_calibration_profile(self) -> dict | None:
        return self.calibration_profile

    def set_calibration_profile(self, profile: dict) -> None:
        self.calibration_profile = profile


class _FakeConfig86(_FakeConfig):
    """8.6's builder config: max_workspace_size still exists (deprecated since 8.4) and records any use."""

    __slots__ = ()

    @property
    def max_workspace_size(self) -> int:
        self.module.deprecated_calls.append("config.max_workspace_size")
        return 0

    @max_workspace_size.setter
    def max_workspace_size(self, _size: int) -> None:
        self.module.deprecated_calls.append("config.max_workspace_size")


class _FakeBuilder:
    def __init__(self, module: FakeTensorRTModule) -> None:
        self.module = module

    def create_network(self, flags: int) -> _FakeNetwork:
        self.module.network_flags.append(flags)
        return _FakeNetwork()

    def create_builder_config(self) -> _FakeConfig:
        return _FakeConfig(self.module) if self.module.major >= 10 else _FakeConfig86(self.module)

    def create_optimization_profile(self) -> _FakeProfile:
        return _FakeProfile()

    def build_serialized_network(self, network: _FakeNetwork, config: _FakeConfig) -> bytes:
        if self.module.BuilderFlag.INT8 in config.flags:
            self._calibrate(network, config.int8_calibrator)
        tensors = [(t.name, list(t.shape), t.dtype, True) for t in network.inputs]
        tensors += [(t.name, list(t.shape), t.dtype, False) for t in network.outputs]
        recipe = {"version": self.module.__version__, "tensors": tensors, "nms": network.nms}
        recipe["profiles"] = [p.shapes for p in config.profiles]
        return json.dumps(recipe).encode()

    def _calibrate(self, network: _FakeNetwork, calibrator: Any) -> None:
        if calibrator.read_calibration_cache() is not None:
            return
        while calibrator.get_batch([network.inputs[0].name]) is not None:
            self.module.calibration_batches += 1
        calibrator.write_calibration_cache(f"TRT-{self.module.__version__}-EntropyCalibration2\n".encode())


class _FakeProfile:
    def __init__(self) -> None:
        self.shapes: dict[str, list[list[int]]] = {}

    def set_shape(self, name: str, low: tuple, opt: tuple, high: tuple) -> None:
        self.shapes[name] = [list(low), list(opt), list(high)]


class _FakeRuntime:
    def __init__(self, module: FakeTensorRTModule) -> None:
        self.module = module

    def deserialize_cuda_engine(self, data: bytes) -> _FakeCudaEngine | None:
        recipe = json.loads(data)
        if recipe["version"] != self.module.__version__:
            return None  # as TensorRT: a plan of another version does not deserialize
        engine = _FakeCudaEngine(self.module, recipe)
        return _with_removed_api(engine, self.module, "engine")  # type: ignore[return-value]


class _FakeCudaEngine:
    def __init__(self, module: FakeTensorRTModule, recipe: dict) -> None:
        self.module = module
        self.recipe = recipe
        self.tensors = {name: (tuple(shape), dtype, is_input) for name, shape, dtype, is_input in recipe["tensors"]}
        self.num_io_tensors = len(self.tensors)
        self.num_optimization_profiles = len(recipe["profiles"])

    def get_tensor_name(self, index: int) -> str:
        return list(self.tensors)[index]

    def get_tensor_shape(self, name: str) -> tuple[int, ...]:
        return self.tensors[name][0]

    def get_tensor_dtype(self, name: str) -> str:
        return self.tensors[name][1]

    def get_tensor_mode(self, name: str) -> int:
        return self.module.TensorIOMode.INPUT if self.tensors[name][2] else self.module.TensorIOMode.OUTPUT

    def get_tensor_profile_shape(self, name: str, profile: int) -> list[list[int]]:
        return self.recipe["profiles"][profile][name]

    def create_execution_context(self) -> _FakeExecutionContext:
        context = _FakeExecutionContext(self)
        return _with_removed_api(context, self.module, "context")  # type: ignore[return-value]


class _FakeExecutionContext:
    def __init__(self, engine: _FakeCudaEngine) -> None:
        self.engine = engine
        self.profile = -1
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.addresses: dict[str, int] = {}

    def set_optimization_profile_async(self, index: int, _stream: int) -> bool:
        self.profile = index
        return True

    def set_input_shape(self, name: str, shape: tuple[int, ...]) -> bool:
        low, _opt, high = self.engine.get_tensor_profile_shape(name, self.profile)
        self.shapes[name] = tuple(shape)
        return all(lo <= s <= hi for lo, s, hi in zip(low, shape, high, strict=True))

    def set_tensor_address(self, name: str, address: int) -> bool:
        self.addresses[name] = address
        return True

    def execute_async_v3(self, _stream: int) -> bool:
        ((name, shape),) = self.shapes.items()
        memory = self.engine.module.device_memory
        x = np.frombuffer(bytes(memory[self.addresses[name]][: int(np.prod(shape)) * 4]), np.float32).reshape(shape)
        outputs = {"twice": (2 * x).astype(np.float16), "total": x.reshape(shape[0], -1).sum(axis=1, keepdims=True)}
        for out, value in outputs.items():
            if out in self.addresses:
                memory[self.addresses[out]][: value.nbytes] = value.astype(value.dtype).tobytes()
        return True


class FakeCudart:
    """cuda-python's runtime module as trt_api calls it: (error, value) tuples; device memory is `module.device_memory`
    and host memory is real (pinned buffers are ctypes arrays, copies read and write their addresses)."""

    class cudaError_t:
        cudaSuccess = 0

    class cudaMemcpyKind:
        cudaMemcpyHostToDevice = 1
        cudaMemcpyDeviceToHost = 2

    def __init__(self, module: FakeTensorRTModule) -> None:
        self.memory = module.device_memory
        self.host: list[object] = []  # keeps pinned buffers alive
        self.streams = 0

    def cudaGetDeviceCount(self) -> tuple[int, int]:
        return (0, 1)

    def cudaSetDevice(self, _index: int) -> tuple[int]:
        return (0,)

    def cudaGetDeviceProperties(self, _index: int) -> tuple[int, object]:
        return (0, type("Props", (), {"name": b"NVIDIA H100 80GB HBM3", "major": 9, "minor": 0})())

    def cudaMalloc(self, nbytes: int) -> tuple[int, int]:
        ptr = 0x7F0000000000 + len(self.memory) * 0x100000
        self.memory[ptr] = bytearray(nbytes)
        return (0, ptr)

    def cudaFree(self, ptr: int) -> tuple[int]:
        del self.memory[ptr]
        return (0,)

    def cudaMallocHost(self, nbytes: int) -> tuple[int, int]:
        buffer = (ctypes.c_uint8 * nbytes)()
        self.host.append(buffer)
        return (0, ctypes.addressof(buffer))

    def cudaStreamCreate(self) -> tuple[int, int]:
        self.streams += 1
        return (0, self.streams)

    def cudaStreamSynchronize(self, _stream: object) -> tuple[int]:
        return (0,)

    def cudaMemcpy(self, dst: int, src: int, nbytes: int, kind: int) -> tuple[int]:
        if kind == self.cudaMemcpyKind.cudaMemcpyHostToDevice:
            self.memory[dst][:nbytes] = ctypes.string_at(src, nbytes)
        else:
            ctypes.memmove(dst, bytes(self.memory[src][:nbytes]), nbytes)
        return (0,)

    def cudaMemcpyAsync(self, dst: int, src: int, nbytes: int, kind: int, _stream: object) -> tuple[int]:
        return self.cudaMemcpy(dst, src, nbytes, kind)


def fake_tensorrt(version: str) -> tuple[FakeTensorRTModule, FakeCudart]:
    """The `tensorrt` and cuda-python runtime stand-ins for one TensorRT version, sharing one device memory."""
    module = FakeTensorRTModule(version)
    return module, FakeCudart(module)
