"""Systems under test: turn LoadGen queries into batches for a backend and report the responses.

`BatchingSUT` answers in LoadGen's issue thread, in batches of at most `batch_size`: the right shape for
Offline (one query of many samples), SingleStream (one sample per query, next query after the answer) and
MultiStream (one query of N samples). For a query of several batches, a helper thread gathers the next
batch into a reused buffer while the backend runs the current one: at GPU speeds, copying samples into a
batch costs as much as the inference. `ServerSUT` puts queries on a queue; worker threads take what is
waiting, up to the batch size, after a short wait for more (dynamic batching), so LoadGen's issue thread
is never blocked by inference.

A failure in inference must not hang LoadGen, which waits for every sample: the failing samples are
completed empty, the error is kept, and `raise_if_failed` re-raises it after the test so the run fails.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import mlperf_loadgen as lg
import numpy as np

from harness.backends.base import Backend
from harness.benchmarks.base import Benchmark
from harness.loadgen.batching import server_batches
from harness.loadgen.qsl import SampleLibrary


def complete(ids: Sequence[int], payloads: Sequence[bytes]) -> None:
    """Complete the samples `ids` with one QuerySamplesComplete for all of them (an empty payload: no data).
    Both SUT families answer through this (harness.loadgen.pipeline too, for payloads of varying size)."""
    # The arrays must stay alive until QuerySamplesComplete returns: LoadGen reads them there.
    buffers = [np.frombuffer(payload, dtype=np.uint8) for payload in payloads]
    responses = [
        lg.QuerySampleResponse(i, buffer.ctypes.data if buffer.size else 0, buffer.size)
        for i, buffer in zip(ids, buffers, strict=True)
    ]
    lg.QuerySamplesComplete(responses)


class Responder:
    """Runs one batch of query samples through the backend and completes them with LoadGen."""

    def __init__(self, backend: Backend, benchmark: Benchmark, library: SampleLibrary) -> None:
        self._backend = backend
        self._benchmark = benchmark
        self._library = library
        self._lock = threading.Lock()
        self._error: BaseException | None = None

    def gather(self, query_samples: Sequence[lg.QuerySample], out: np.ndarray | None = None) -> np.ndarray:
        """The batch of the samples' preprocessed inputs (into `out` if given)."""
        return self._library.batch([sample.index for sample in query_samples], out)

    def answer(self, query_samples: Sequence[lg.QuerySample], batch: Callable[[], np.ndarray] | None = None) -> None:
        """Infer and complete `query_samples`; `batch` gives their gathered inputs (default: gather now)."""
        indices = [sample.index for sample in query_samples]
        try:
            inputs = batch() if batch is not None else self.gather(query_samples)
            outputs = self._backend.infer(inputs)
            payloads = self._benchmark.postprocess(outputs, indices)
        except Exception as error:  # kept and re-raised after the test; LoadGen must not wait forever
            with self._lock:
                self._error = self._error or error
            payloads = [b""] * len(indices)
        complete([sample.id for sample in query_samples], payloads)

    def batch_buffer(self, size: int) -> np.ndarray:
        return self._library.batch_buffer(size)

    def raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error


class BatchingSUT:
    """Answers each query in LoadGen's issue thread, `batch_size` samples at a time."""

    def __init__(self, responder: Responder, batch_size: int) -> None:
        self.responder = responder
        self.batch_size = batch_size

    def issue_query(self, query_samples: list[lg.QuerySample]) -> None:
        chunks = [query_samples[s : s + self.batch_size] for s in range(0, len(query_samples), self.batch_size)]
        if len(chunks) == 1:
            self.responder.answer(chunks[0])
            return
        buffers = [self.responder.batch_buffer(self.batch_size) for _ in range(2)]
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="gather") as gatherer:
            pending = gatherer.submit(self.responder.gather, chunks[0], buffers[0])
            for number, chunk in enumerate(chunks):
                current = pending
                if number + 1 < len(chunks):
                    # Buffer (n+1) % 2 is free: the inference that read it (batch n-1) has returned.
                    pending = gatherer.submit(self.responder.gather, chunks[number + 1], buffers[(number + 1) % 2])
                self.responder.answer(chunk, current.result)

    def flush_queries(self) -> None:
        """Nothing is ever pending: every query is answered before issue_query returns."""

    def raise_if_failed(self) -> None:
        self.responder.raise_if_failed()

    def start(self) -> None:
        """Nothing to start: work happens in LoadGen's thread."""

    def stop(self) -> None:
        """Nothing to stop."""


class ServerSUT:
    """Queue plus worker threads with dynamic batching, for the Server scenario."""

    def __init__(self, responder: Responder, batch_size: int, workers: int = 2, batch_wait_s: float = 0.001) -> None:
        self.responder = responder
        self.batch_size = batch_size
        self._batch_wait_s = batch_wait_s
        self._queue: queue.SimpleQueue[lg.QuerySample | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._work, name=f"server-worker-{n}", daemon=True) for n in range(workers)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join()

    def issue_query(self, query_samples: list[lg.QuerySample]) -> None:
        for sample in query_samples:
            self._queue.put(sample)

    def flush_queries(self) -> None:
        """Workers never hold samples back beyond the batch wait, so there is nothing to flush."""

    def raise_if_failed(self) -> None:
        self.responder.raise_if_failed()

    def _work(self) -> None:
        for batch in server_batches(self._queue, self.batch_size, self._batch_wait_s):
            self.responder.answer(batch)
