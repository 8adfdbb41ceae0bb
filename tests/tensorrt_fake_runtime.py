"""STAND-IN for TensorRT and the CUDA runtime (`harness.backends.tensorrt.interface.TrtRuntime`), tests only.

TensorRT cannot run on any machine of this project, so the tests put this at that boundary and nothing else.
It behaves like the real thing where the backend depends on it: "engines" are serialized bytes that record
what they were built from, device memory is real bytes copied in and out, contexts read their input from the
bound device address and write outputs to the bound output addresses, and an INT8 build reads the calibration
cache or pulls every calibration batch and writes a new one. Model: total = sum of each sample, twice = 2x.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import numpy as np

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
    version: str = "8.6.1"
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
                source.write_cache(b"TRT-8601-EntropyCalibration2\n" + digest.hexdigest().encode())
        first = request.profiles[0]
        recipe = {
            "input_name": first.input_name,
            "sample_shape": list(first.max[1:]),
            "profiles": [p.as_dict() for p in request.profiles],
            "precision": request.precision,
            "nms": request.nms.fields if request.nms else None,
            "build": len(self.builds),
        }
        return json.dumps(recipe).encode()

    def deserialize(self, data: bytes) -> FakeEngine:
        engine = FakeEngine(self, json.loads(data))
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
