"""The CUDA half of the TensorRT backend's runtime (trt_api.CudaRuntime) on a real GPU, with the real buffers.

Skipped where cuda-python or a CUDA device is missing (CI); run on the lent H100. Only the engine is a
stand-in here (TensorRT exists on no machine of this project): it copies its input binding to its output
binding on the slot's stream, so every byte goes host -> pinned -> device -> device -> pinned -> host.
"""

from __future__ import annotations

import re
import threading

import numpy as np
import pytest

from harness.backends.tensorrt import trt_api
from harness.backends.tensorrt.buffers import allocate_slots, plan_buffers, run_on_slot
from harness.backends.tensorrt.interface import BindingSpec
from harness.backends.tensorrt.profiles import ProfileTable

try:
    CUDART = trt_api.import_cudart()
    _count = CUDART.cudaGetDeviceCount()
    HAS_GPU = _count[0] == CUDART.cudaError_t.cudaSuccess and _count[1] > 0
except ImportError:
    HAS_GPU = False
pytestmark = [pytest.mark.cuda, pytest.mark.skipif(not HAS_GPU, reason="needs cuda-python and a CUDA device")]

SAMPLE = (3, 8, 8)


class CopyEngine:
    """STAND-IN for a TensorRT engine: output = input, copied device to device on the context's stream."""

    def __init__(self, profiles: int) -> None:
        self.profiles = profiles

    def bindings(self) -> list[BindingSpec]:
        return [
            BindingSpec("input", SAMPLE, np.dtype(np.float32), True),
            BindingSpec("output", SAMPLE, np.dtype(np.float32), False),
        ]

    def num_profiles(self) -> int:
        return self.profiles

    def create_context(self, profile_index: int, stream: object) -> CopyContext:
        return CopyContext(stream)


class CopyContext:
    def __init__(self, stream: object) -> None:
        self.stream = stream

    def execute(self, input_shapes: dict[str, tuple[int, ...]], addresses: dict[str, int]) -> None:
        nbytes = int(np.prod(input_shapes["input"])) * 4
        kind = CUDART.cudaMemcpyKind.cudaMemcpyDeviceToDevice
        (error,) = CUDART.cudaMemcpyAsync(addresses["output"], addresses["input"], nbytes, kind, self.stream)
        assert error == CUDART.cudaError_t.cudaSuccess


def test_gpu_identity_names_the_card_and_its_compute_capability() -> None:
    gpu = trt_api.load_cuda_runtime(0).gpu(0)
    assert gpu.name.startswith("NVIDIA")
    assert re.fullmatch(r"\d+\.\d+", gpu.compute_capability)


def test_pinned_buffers_round_trip_through_device_memory_on_a_stream() -> None:
    runtime = trt_api.load_cuda_runtime(0)
    data = np.random.default_rng(0).integers(0, 255, 1 << 20, dtype=np.uint8)
    host_in, host_out = runtime.alloc_host(data.nbytes), runtime.alloc_host(data.nbytes)
    host_in[:] = data
    device = runtime.alloc_device(data.nbytes)
    stream = runtime.create_stream()
    runtime.copy_to_device(device, host_in, data.nbytes, stream)
    runtime.copy_to_host(host_out, device, data.nbytes, stream)
    runtime.synchronize(stream)
    np.testing.assert_array_equal(host_out, data)
    device.free()


def test_slots_move_full_and_partial_batches_through_real_cuda_memory_concurrently() -> None:
    runtime = trt_api.load_cuda_runtime(0)
    table = ProfileTable.create("input", SAMPLE, [1, 8], slots=3)
    engine = CopyEngine(len(table.profiles()))
    plan = plan_buffers(engine.bindings(), table.max_batch, table.slots)
    pool = allocate_slots(runtime, engine, plan, table)
    failures: list[str] = []

    def work(seed: int) -> None:
        rng = np.random.default_rng(seed)
        for _ in range(30):
            batch = rng.random((int(rng.integers(1, 9)), *SAMPLE), dtype=np.float32)
            with pool.acquire() as slot:
                (out,) = run_on_slot(runtime, slot, plan, table, batch)
            if not np.array_equal(out, batch):
                failures.append(f"worker {seed}: batch of {len(batch)} came back changed")

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    pool.release_all()
    assert failures == []
