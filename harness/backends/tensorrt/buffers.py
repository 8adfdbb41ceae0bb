"""Buffer sizing and the per-stream buffer sets: pinned host + device memory for every binding.

Sizing is pure (bytes = max batch x prod(sample shape) x itemsize); allocation goes through the runtime
interface, so the same code runs on the real CUDA runtime and on the tests' stand-in.
"""

from __future__ import annotations

import math
import queue
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from harness.backends.base import BackendError
from harness.backends.tensorrt.interface import (
    BindingSpec,
    DeviceBuffer,
    Engine,
    ExecutionContext,
    TrtRuntime,
)
from harness.backends.tensorrt.profiles import ProfileTable


def binding_bytes(spec: BindingSpec, max_batch: int) -> int:
    """Bytes one buffer for `spec` needs to hold `max_batch` samples."""
    if max_batch < 1:
        raise BackendError(f"max batch {max_batch} must be at least 1")
    if any(d < 1 for d in spec.shape):
        raise BackendError(
            f"binding {spec.name!r} has a dynamic or empty dimension {spec.shape} besides the batch; "
            "export the model with fixed sample shapes"
        )
    return max_batch * math.prod(spec.shape) * np.dtype(spec.dtype).itemsize


@dataclass(frozen=True)
class BufferPlan:
    """How much memory the backend takes: one host and one device buffer per binding and stream."""

    bindings: tuple[BindingSpec, ...]
    max_batch: int
    streams: int

    def bytes_per_stream(self) -> int:
        return sum(binding_bytes(b, self.max_batch) for b in self.bindings)

    def total_bytes(self) -> int:
        """Device bytes (the pinned host side takes the same again)."""
        return self.bytes_per_stream() * self.streams


def plan_buffers(bindings: Sequence[BindingSpec], max_batch: int, streams: int) -> BufferPlan:
    if streams < 1:
        raise BackendError(f"streams={streams} must be at least 1")
    inputs = [b for b in bindings if b.is_input]
    if len(inputs) != 1:
        raise BackendError(
            f"the engine has {len(inputs)} inputs ({[b.name for b in inputs]}); the harness feeds exactly one"
        )
    if not any(not b.is_input for b in bindings):
        raise BackendError("the engine has no outputs")
    plan = BufferPlan(tuple(bindings), max_batch, streams)
    for binding in bindings:
        binding_bytes(binding, max_batch)  # validates every shape up front
    return plan


@dataclass
class StreamSlot:
    """One stream with its own buffers and one execution context per batch-size profile."""

    index: int
    stream: object
    host: dict[str, np.ndarray]
    device: dict[str, DeviceBuffer]
    contexts: dict[int, ExecutionContext]  # profile index -> context


class SlotPool:
    """Stream slots handed out one caller at a time, so concurrent `infer` calls never share buffers."""

    def __init__(self, slots: list[StreamSlot]) -> None:
        self._slots = slots
        self._free: queue.Queue[StreamSlot] = queue.Queue()
        for slot in slots:
            self._free.put(slot)

    @contextmanager
    def acquire(self) -> Iterator[StreamSlot]:
        slot = self._free.get()
        try:
            yield slot
        finally:
            self._free.put(slot)

    def release_all(self) -> None:
        for slot in self._slots:
            for buffer in slot.device.values():
                buffer.free()


def allocate_slots(runtime: TrtRuntime, engine: Engine, plan: BufferPlan, table: ProfileTable) -> SlotPool:
    """Allocate every slot's stream, buffers and contexts (one context per profile the slot owns)."""
    if engine.num_profiles() != len(table.profiles()):
        raise BackendError(
            f"the engine has {engine.num_profiles()} optimisation profiles but {plan.streams} stream(s) x "
            f"{len(table.batch_sizes)} batch size(s) need {len(table.profiles())}; "
            "rebuild it with these settings"
        )
    slots = []
    for index in range(plan.streams):
        stream = runtime.create_stream()
        host = {}
        device = {}
        for binding in plan.bindings:
            nbytes = binding_bytes(binding, plan.max_batch)
            host[binding.name] = runtime.alloc_host(nbytes)
            device[binding.name] = runtime.alloc_device(nbytes)
        contexts = {}
        for position in range(len(table.batch_sizes)):
            profile = index * len(table.batch_sizes) + position
            contexts[profile] = engine.create_context(profile, stream)
        slots.append(StreamSlot(index, stream, host, device, contexts))
    return SlotPool(slots)


def run_on_slot(
    runtime: TrtRuntime, slot: StreamSlot, plan: BufferPlan, table: ProfileTable, batch: np.ndarray
) -> list[np.ndarray]:
    """Copy `batch` in, run the profile that fits it, copy the outputs out; outputs in binding order."""
    (input_spec,) = [b for b in plan.bindings if b.is_input]
    if tuple(batch.shape[1:]) != input_spec.shape:
        raise BackendError(
            f"batch of shape {batch.shape} does not match the engine input {input_spec.name!r} "
            f"(batch, {', '.join(map(str, input_spec.shape))})"
        )
    count = batch.shape[0]
    profile = table.index_for(slot.index, count)
    data = np.ascontiguousarray(batch, dtype=input_spec.dtype)
    host_in = slot.host[input_spec.name]
    host_in[: data.nbytes] = data.reshape(-1).view(np.uint8)
    runtime.copy_to_device(slot.device[input_spec.name], host_in, data.nbytes, slot.stream)
    addresses = {b.name: slot.device[b.name].ptr for b in plan.bindings}
    slot.contexts[profile].execute({input_spec.name: tuple(batch.shape)}, addresses)
    outputs = [b for b in plan.bindings if not b.is_input]
    sizes = {b.name: count * math.prod(b.shape) * np.dtype(b.dtype).itemsize for b in outputs}
    for b in outputs:
        runtime.copy_to_host(slot.host[b.name], slot.device[b.name], sizes[b.name], slot.stream)
    runtime.synchronize(slot.stream)
    # Copies, because the pinned buffers are reused by the next call on this slot.
    return [slot.host[b.name][: sizes[b.name]].view(b.dtype).reshape(count, *b.shape).copy() for b in outputs]
