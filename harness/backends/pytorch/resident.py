"""A PyTorch device worker: the compact samples in one device tensor, batches gathered and expanded there.

Each worker owns a model replica on one device, the sample store (LoadGen's loaded samples, in the benchmark's
compact form, e.g. uint8 crops) and `streams` lanes. A lane is a CUDA stream with its own index buffer,
output buffers and, with CUDA graphs, its own graphs of gather -> expand -> network -> on-device
postprocessing (detection postprocessing, whose NMS is not capturable, runs eagerly after the replay on the same
stream). A batch runs at the smallest of the worker's batch sizes that holds it, padded with a repeated sample
whose results are dropped: one size keeps Offline and the stream scenarios at one compiled shape; Server, whose
dynamic batches vary, gets a few sizes so a small batch does not pay for a full one. Launching writes the slots
into the lane's pinned index buffer and queues the copy in, the replay and the copy back of the compact outputs;
the lane is reused once its results were taken. On the CPU (tests) a launch runs at once.

With CUDA graphs the copy of the slots in and, where the postprocessing is in the graph, the copy of the results
back into the lane's pinned buffers are captured in the graph too: a launch is then one NumPy write and one graph
launch. Each separate copy costs a launch from Python, about 10 microseconds, which at batch 1 (SingleStream,
about 0.5 ms of network on an H200) is most of what the harness may add.

The store's address is baked into the graphs, so the graphs are captured after the first load and captured
again if a later load grows the store (LoadGen loads before it starts timing).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from harness.backends.base import BackendError
from harness.benchmarks.base import CompactForm

Finish = Callable[[list[torch.Tensor]], list[torch.Tensor]]


@dataclass
class _Graph:
    graph: torch.cuda.CUDAGraph
    outputs: list[torch.Tensor]  # the network's outputs (device), as captured
    copies_back: bool  # the replay also copies the results into the lane's pinned buffers


@dataclass
class _Lane:
    stream: torch.cuda.Stream | None
    index_host: torch.Tensor  # pinned on CUDA
    index_dev: torch.Tensor
    index_np: np.ndarray  # a NumPy view of index_host, made once
    free: threading.Event = field(default_factory=threading.Event)
    event: torch.cuda.Event | None = None
    graphs: dict[int, _Graph] = field(default_factory=dict)  # by run size; the slots' copy in is captured
    out_host: list[torch.Tensor] = field(default_factory=list)  # pinned, shaped for the largest batch
    out_np: list[np.ndarray] = field(default_factory=list)  # NumPy views of out_host, made once
    ready: list[np.ndarray] = field(default_factory=list)  # CPU: outputs computed at launch


class _LaneResult:
    def __init__(self, lane: _Lane, count: int) -> None:
        self._lane = lane
        self._count = count

    def result(self) -> list[np.ndarray]:
        lane = self._lane
        try:
            if lane.event is not None:
                lane.event.synchronize()  # releases the GIL while the device works
                return [host[: self._count].copy() for host in lane.out_np]
            return [array[: self._count] for array in lane.ready]
        finally:
            lane.free.set()


class TorchWorker:
    """One model replica and sample store on `device` (see the module docstring)."""

    def __init__(
        self,
        *,
        name: str,
        model: nn.Module,
        device: torch.device,
        dtype: torch.dtype,
        channels_last: bool,
        form: CompactForm,
        sample_shape: Sequence[int],
        batch_size: int,
        streams: int,
        batch_sizes: Sequence[int] = (),
        cuda_graphs: bool,
        finish: Finish,
        finish_in_graph: bool,
    ) -> None:
        self.name = name
        self.device = device
        self.batch_size = batch_size
        # The shapes the network runs at: the batch size and any smaller ones asked for (see the module docstring).
        self.run_sizes = sorted({batch_size, *(size for size in batch_sizes if 0 < size < batch_size)})
        self._model = model
        self._dtype = dtype
        self._channels_last = channels_last
        self._finish = finish
        self._finish_in_graph = finish_in_graph
        self._cuda = device.type == "cuda"
        self._graphs = cuda_graphs and self._cuda
        channels = len(form.offset)
        self._offset = torch.tensor(form.offset, dtype=torch.float32, device=device).view(channels, 1, 1)
        self._divisor = float(form.divisor)
        store_dtype = torch.from_numpy(np.zeros(0, dtype=form.dtype)).dtype
        self._store = torch.empty((0, *sample_shape), dtype=store_dtype, device=device)
        self._lanes = [self._lane() for _ in range(max(1, streams) if self._cuda else 1)]
        self._turn = 0

    def _lane(self) -> _Lane:
        index_host = torch.zeros(self.batch_size, dtype=torch.int64, pin_memory=self._cuda)
        lane = _Lane(
            stream=torch.cuda.Stream(self.device) if self._cuda else None,
            index_host=index_host,
            index_dev=torch.zeros(self.batch_size, dtype=torch.int64, device=self.device),
            index_np=index_host.numpy(),
            event=torch.cuda.Event() if self._cuda else None,
        )
        lane.free.set()
        return lane

    # -- the computation ------------------------------------------------------------------------------------

    def expand(self, compact: torch.Tensor) -> torch.Tensor:
        """The model input of compact samples: float32 exactly as the host's preprocessing, then the precision."""
        inputs = ((compact.float() - self._offset) / self._divisor).to(self._dtype)
        return inputs.contiguous(memory_format=torch.channels_last) if self._channels_last else inputs

    def _network(self, index: torch.Tensor) -> list[torch.Tensor]:
        raw = list(self._model(self.expand(self._store.index_select(0, index))))
        return self._finish(raw) if self._finish_in_graph else raw

    def run_size(self, count: int) -> int:
        """The batch size a batch of `count` samples runs at."""
        return next(size for size in self.run_sizes if size >= count)

    def _enqueue(self, lane: _Lane, size: int) -> None:
        """Queue on the current stream (the lane's) where the graph does not copy back: the eager path, or a graph
        of slots in and network followed by eager postprocessing (detection's NMS) and the copies back."""
        captured = lane.graphs.get(size)
        with torch.inference_mode():
            if captured is not None:
                captured.graph.replay()  # slots in and network; detection's NMS runs eagerly after it
                raw = captured.outputs
            else:
                lane.index_dev[:size].copy_(lane.index_host[:size], non_blocking=True)
                raw = self._network(lane.index_dev[:size])
            outputs = raw if self._finish_in_graph else self._finish(raw)
            self._ensure_host_buffers(lane, outputs)
            for host_out, out in zip(lane.out_host, outputs, strict=True):
                host_out[:size].copy_(out, non_blocking=True)

    # -- DeviceWorker ---------------------------------------------------------------------------------------

    def store(self, slots: np.ndarray, samples: np.ndarray) -> None:
        needed = int(slots.max()) + 1
        grown = needed > self._store.shape[0]
        with torch.inference_mode():
            if grown:
                bigger = torch.empty((needed, *self._store.shape[1:]), dtype=self._store.dtype, device=self.device)
                bigger[: self._store.shape[0]] = self._store
                self._store = bigger
            index = torch.from_numpy(np.ascontiguousarray(slots)).to(self.device)
            self._store.index_copy_(0, index, torch.from_numpy(np.ascontiguousarray(samples)).to(self.device))
        if self._cuda:
            torch.cuda.synchronize(self.device)
        if grown and self._graphs:
            self._capture_all()

    def launch(self, slots: np.ndarray) -> _LaneResult:
        count = len(slots)
        if not 0 < count <= self.batch_size:
            raise ValueError(f"a batch of {count} samples on a worker built for batch size {self.batch_size}")
        lane = self._lanes[self._turn]
        self._turn = (self._turn + 1) % len(self._lanes)
        size = self.run_size(count)
        lane.free.wait()
        lane.free.clear()
        try:
            lane.index_np[:count] = slots
            lane.index_np[count:size] = slots[0]  # padding rows compute a real sample; their results are dropped
            if lane.stream is None:
                with torch.inference_mode():
                    lane.index_dev.copy_(lane.index_host)
                    raw = self._network(lane.index_dev[:size])
                    outputs = raw if self._finish_in_graph else self._finish(raw)
                    lane.ready = [o.cpu().numpy() for o in outputs]
            else:
                captured = lane.graphs.get(size)
                if captured is not None and captured.copies_back:
                    # `with torch.cuda.stream(...)` costs about 10 microseconds a launch, 2% of a batch-1 ResNet50
                    # (speed/profile_launch.py): the lane's stream is made current and left so. The threads
                    # that launch (LoadGen's, the Server batcher) do no other GPU work that could land on it.
                    torch.cuda.set_stream(lane.stream)
                    captured.graph.replay()  # slots in, network, results back: one launch
                else:
                    with torch.cuda.stream(lane.stream):
                        self._enqueue(lane, size)
                assert lane.event is not None
                lane.event.record(lane.stream)
        except BaseException:
            lane.free.set()
            raise
        return _LaneResult(lane, count)

    def device_bytes(self) -> int:
        return self._store.numel() * self._store.element_size()

    # -- set-up ---------------------------------------------------------------------------------------------

    def warmup(self) -> None:
        """Run the network on zeros at each run size: compilation and cuDNN's tuning happen before LoadGen starts."""
        for size in reversed(self.run_sizes):  # the largest first: a batch that does not fit fails at once
            compact = torch.zeros((size, *self._store.shape[1:]), dtype=self._store.dtype, device=self.device)
            with torch.inference_mode():
                for _ in range(2):
                    raw = list(self._model(self.expand(compact)))
                    self._finish(raw)
        if self._cuda:
            torch.cuda.synchronize(self.device)

    def _ensure_host_buffers(self, lane: _Lane, outputs: list[torch.Tensor]) -> None:
        shapes = [(self.batch_size, *o.shape[1:]) for o in outputs]
        if not lane.out_host or any(tuple(h.shape) != shape for h, shape in zip(lane.out_host, shapes, strict=True)):
            lane.out_host = [
                torch.empty(shape, dtype=o.dtype, pin_memory=True) for shape, o in zip(shapes, outputs, strict=True)
            ]
            lane.out_np = [host.numpy() for host in lane.out_host]

    def _capture_all(self) -> None:
        for lane in self._lanes:
            self._capture(lane)

    def _capture(self, lane: _Lane) -> None:
        lane.index_host.zero_()
        lane.index_dev.zero_()
        lane.graphs = {}
        for size in self.run_sizes:
            index = lane.index_dev[:size]
            side = torch.cuda.Stream(self.device)
            side.wait_stream(torch.cuda.current_stream(self.device))
            with torch.inference_mode():
                with torch.cuda.stream(side):
                    for _ in range(3):  # cuDNN picks its algorithms before capture
                        warm = self._network(index)
                    if self._finish_in_graph:
                        self._ensure_host_buffers(lane, warm)
                torch.cuda.current_stream(self.device).wait_stream(side)
                graph = torch.cuda.CUDAGraph()
                with torch.cuda.graph(graph):
                    # Pinned host memory is a legal source and target of captured copies (see the docstring).
                    index.copy_(lane.index_host[:size], non_blocking=True)
                    outputs = self._network(index)
                    if self._finish_in_graph:
                        for host_out, out in zip(lane.out_host, outputs, strict=True):
                            host_out[:size].copy_(out, non_blocking=True)
            lane.graphs[size] = _Graph(graph, outputs, copies_back=self._finish_in_graph)


def largest_fitting_batch(worker: TorchWorker, batch_size: int) -> int:
    """The largest power-of-two fraction of `batch_size` whose forward pass fits the device (0 if none)."""
    size = batch_size // 2
    compact_shape = worker._store.shape[1:]
    while size >= 1:
        try:
            compact = torch.zeros((size, *compact_shape), dtype=worker._store.dtype, device=worker.device)
            with torch.inference_mode():
                worker._finish(list(worker._model(worker.expand(compact))))
            torch.cuda.synchronize(worker.device)
            return size
        except torch.cuda.OutOfMemoryError:
            torch.cuda.empty_cache()
            size //= 2
    return 0


def out_of_memory(worker: TorchWorker, batch_size: int, error: BaseException) -> BackendError:
    torch.cuda.empty_cache()
    fits = largest_fitting_batch(worker, batch_size)
    advice = f"the largest that fits is {fits}" if fits else "not even batch size 1 fits"
    return BackendError(
        f"batch size {batch_size} does not fit the memory of {worker.device} "
        f"({torch.cuda.get_device_name(worker.device)}); {advice}: set batch_size to it or lower"
    )
