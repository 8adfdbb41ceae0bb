"""The small interface between the TensorRT backend and the TensorRT/CUDA runtime.

`trt_api.RealTrtRuntime` implements it with tensorrt and cuda-python; the tests implement it with a stand-in.
Everything else in this package talks only to these protocols, so it runs and is tested without a GPU.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from harness.backends.tensorrt.profiles import ShapeProfile


@dataclass(frozen=True)
class GpuIdentity:
    """What an engine is specific to: an engine runs only on the GPU architecture it was built for."""

    name: str  # "NVIDIA H100 80GB HBM3"
    compute_capability: str  # "9.0"


@dataclass(frozen=True)
class BindingSpec:
    """One engine input or output; `shape` is one sample's shape (the batch axis removed)."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    is_input: bool


@dataclass(frozen=True)
class NmsPluginLayer:
    """An EfficientNMS_TRT layer appended to the network's (boxes, scores) outputs at build time."""

    boxes_output: str
    scores_output: str
    fields: dict[str, int | float]


class CalibrationSource(Protocol):
    """What the INT8 calibrator pulls from: fixed-size batches and the calibration cache bytes."""

    batch_size: int

    def next_batch(self) -> np.ndarray | None: ...

    def read_cache(self) -> bytes | None: ...

    def write_cache(self, data: bytes) -> None: ...


@dataclass(frozen=True)
class BuildRequest:
    """Everything an engine build depends on; the engine key is derived from the same inputs."""

    onnx_path: Path
    precision: str  # "fp32", "fp16", "int8"
    profiles: list[ShapeProfile]
    workspace_bytes: int
    calibration: CalibrationSource | None = None
    nms: NmsPluginLayer | None = None
    extra: dict[str, str] = field(default_factory=dict)


class DeviceBuffer(Protocol):
    """Device memory; `ptr` is the address TensorRT binds."""

    ptr: int
    nbytes: int

    def free(self) -> None: ...


class ExecutionContext(Protocol):
    """An execution context bound to one optimisation profile and one stream."""

    def execute(self, input_shapes: dict[str, tuple[int, ...]], addresses: dict[str, int]) -> None:
        """Enqueue one inference on the context's stream (asynchronous)."""
        ...


class Engine(Protocol):
    def bindings(self) -> list[BindingSpec]: ...

    def num_profiles(self) -> int: ...

    def create_context(self, profile_index: int, stream: object) -> ExecutionContext: ...


class TrtRuntime(Protocol):
    """TensorRT plus the CUDA runtime calls the backend needs."""

    def tensorrt_version(self) -> str: ...

    def gpu(self, device_index: int) -> GpuIdentity: ...

    def init_plugins(self) -> None:
        """Register TensorRT's own plugin library (EfficientNMS_TRT, ...) and those already dlopen-ed."""
        ...

    def build_engine(self, request: BuildRequest) -> bytes: ...

    def deserialize(self, data: bytes) -> Engine: ...

    def alloc_host(self, nbytes: int) -> np.ndarray:
        """Page-locked host memory as a flat uint8 array (pinned, so copies can run asynchronously)."""
        ...

    def alloc_device(self, nbytes: int) -> DeviceBuffer: ...

    def create_stream(self) -> object: ...

    def copy_to_device(self, dst: DeviceBuffer, src: np.ndarray, nbytes: int, stream: object) -> None: ...

    def copy_to_host(self, dst: np.ndarray, src: DeviceBuffer, nbytes: int, stream: object) -> None: ...

    def synchronize(self, stream: object) -> None: ...
