"""The pipelined SUT over device workers: issue, gather, compute and postprocess on the device, complete in bulk.

LoadGen's issue thread cuts a query into batches of stored-sample slots and launches each on the next worker
(round robin); launching only queues work on one of the worker's CUDA streams, so several batches are in
flight. One completion thread per worker waits for its batches in launch order, turns the compact outputs into
LoadGen payloads (one array for the batch where the benchmark's payloads have a fixed size) and calls
QuerySamplesComplete once per batch. A query that is one batch on an idle worker (SingleStream, MultiStream) is
answered in the issue thread itself: handing it to another thread would add a thread wake-up to every latency.

Server: the issue thread only queues samples; a batcher thread launches a batch when it is full or when the
oldest queued sample has waited `max_wait_s` (dynamic batching with a deadline).

An inference failure completes its samples empty (LoadGen must not wait forever), is kept, and
`raise_if_failed` re-raises it after the test so the run fails.
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import mlperf_loadgen as lg
import numpy as np

from harness.benchmarks.base import Benchmark
from harness.loadgen.batching import server_batches
from harness.loadgen.resident import DeviceWorker, Launched, ResidentLibrary
from harness.loadgen.sut import complete


@dataclass
class _InFlight:
    launched: Launched | None  # None: the launch itself failed (error kept)
    ids: list[int]
    indices: list[int]


class _Completer:
    """Payloads and QuerySamplesComplete for finished batches; keeps the first error."""

    def __init__(self, benchmark: Benchmark) -> None:
        self._benchmark = benchmark
        self._rows = getattr(benchmark, "payload_rows", None)
        self._lock = threading.Lock()
        self.error: BaseException | None = None

    def fail(self, error: BaseException) -> None:
        with self._lock:
            self.error = self.error or error

    def complete(self, item: _InFlight) -> None:
        try:
            if item.launched is None:
                raise RuntimeError("launch failed")
            outputs = item.launched.result()
            if callable(self._rows):
                rows = np.ascontiguousarray(self._rows(outputs))
                self._respond_rows(item.ids, rows)
                return
            payloads = self._benchmark.postprocess(outputs, item.indices)
        except Exception as error:  # kept and re-raised after the test; LoadGen must not wait forever
            self.fail(error)
            payloads = [b""] * len(item.ids)
        complete(item.ids, payloads)

    @staticmethod
    def _respond_rows(ids: Sequence[int], rows: np.ndarray) -> None:
        """One response per sample pointing into `rows` (fixed-size payloads): no per-sample bytes objects."""
        if rows.shape[0] != len(ids):
            raise ValueError(f"model returned {rows.shape[0]} results for a batch of {len(ids)}")
        base, width = rows.ctypes.data, rows.strides[0]
        size = rows.shape[1] if rows.ndim > 1 else rows.itemsize
        lg.QuerySamplesComplete([lg.QuerySampleResponse(i, base + n * width, size) for n, i in enumerate(ids)])


class _WorkerLane:
    """One worker, the batches launched on it and not yet completed, and the thread completing them."""

    def __init__(self, worker: DeviceWorker, completer: _Completer) -> None:
        self.worker = worker
        self._completer = completer
        self._pending: queue.SimpleQueue[_InFlight | None] = queue.SimpleQueue()
        self._in_flight = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"complete-{worker.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._pending.put(None)
        self._thread.join()

    def launch(self, slots: np.ndarray, ids: list[int], indices: list[int], inline: bool) -> None:
        """Launch a batch; with `inline` and nothing in flight, wait and complete it in this thread."""
        try:
            launched: Launched | None = self.worker.launch(slots)
        except Exception as error:
            self._completer.fail(error)
            launched = None
        item = _InFlight(launched, ids, indices)
        with self._lock:
            idle = self._in_flight == 0
            if not (inline and idle):
                self._in_flight += 1
        if inline and idle:
            self._completer.complete(item)
        else:
            self._pending.put(item)

    def _run(self) -> None:
        while (item := self._pending.get()) is not None:
            self._completer.complete(item)
            with self._lock:
                self._in_flight -= 1


class PipelinedSUT:
    """Offline, SingleStream and MultiStream over resident samples (see the module docstring)."""

    def __init__(self, library: ResidentLibrary, benchmark: Benchmark, batch_size: int) -> None:
        self._library = library
        self.batch_size = batch_size
        self._completer = _Completer(benchmark)
        self._lanes = [_WorkerLane(worker, self._completer) for worker in library.workers]
        self._next = itertools.cycle(self._lanes)

    def start(self) -> None:
        for lane in self._lanes:
            lane.start()

    def stop(self) -> None:
        for lane in self._lanes:
            lane.stop()

    def issue_query(self, query_samples: list[lg.QuerySample]) -> None:
        ids = [sample.id for sample in query_samples]
        indices = [sample.index for sample in query_samples]
        try:
            slots = self._library.slots(indices)
        except KeyError as error:  # raising into LoadGen's thread would abort the process without a record
            self._completer.fail(error)
            complete(ids, [b""] * len(ids))
            return
        if len(ids) <= self.batch_size:  # one batch (SingleStream, MultiStream): no slicing, answered inline
            next(self._next).launch(slots, ids, indices, inline=True)
            return
        for start in range(0, len(ids), self.batch_size):
            end = start + self.batch_size
            next(self._next).launch(slots[start:end], ids[start:end], indices[start:end], inline=False)

    def flush_queries(self) -> None:
        """Every issued sample is launched at once; completion threads finish them without a flush."""

    def raise_if_failed(self) -> None:
        if self._completer.error is not None:
            raise self._completer.error


class PipelinedServerSUT(PipelinedSUT):
    """Server: dynamic batches, launched when full or when the oldest queued sample has waited `max_wait_s`."""

    def __init__(self, library: ResidentLibrary, benchmark: Benchmark, batch_size: int, max_wait_s: float) -> None:
        super().__init__(library, benchmark, batch_size)
        self._max_wait_s = max_wait_s
        self._queue: queue.SimpleQueue[lg.QuerySample | None] = queue.SimpleQueue()
        self._batcher = threading.Thread(target=self._batch, name="server-batcher", daemon=True)

    def start(self) -> None:
        super().start()
        self._batcher.start()

    def stop(self) -> None:
        self._queue.put(None)
        self._batcher.join()
        super().stop()

    def issue_query(self, query_samples: list[lg.QuerySample]) -> None:
        for sample in query_samples:
            self._queue.put(sample)

    def _batch(self) -> None:
        for batch in server_batches(self._queue, self.batch_size, self._max_wait_s):
            indices = [sample.index for sample in batch]
            ids = [sample.id for sample in batch]
            try:
                slots = self._library.slots(indices)
            except KeyError as error:
                self._completer.fail(error)
                complete(ids, [b""] * len(ids))
            else:
                next(self._next).launch(slots, ids, indices, inline=False)
