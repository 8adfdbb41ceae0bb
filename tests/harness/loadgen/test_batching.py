"""Server's dynamic batching (harness/loadgen/batching.py), which both SUT families batch through."""

from __future__ import annotations

import queue
import threading
import time

from harness.loadgen.batching import server_batches


def filled(*items: str | None) -> queue.SimpleQueue[str | None]:
    source: queue.SimpleQueue[str | None] = queue.SimpleQueue()
    for item in items:
        source.put(item)
    return source


def test_waiting_samples_are_cut_at_the_batch_size_until_the_stop_mark() -> None:
    source = filled(*"abcdefg", None)
    assert list(server_batches(source, batch_size=3, wait_s=0.05)) == [["a", "b", "c"], ["d", "e", "f"], ["g"]]


def test_a_stop_mark_met_while_filling_still_answers_the_batch_and_leaves_the_next_mark() -> None:
    # One mark per consumer: ServerSUT's workers share the queue, each must see its own.
    source = filled("a", "b", None, None)
    assert list(server_batches(source, batch_size=5, wait_s=1.0)) == [["a", "b"]]
    assert source.get_nowait() is None


def test_the_deadline_closes_a_batch_that_is_not_full() -> None:
    source = filled("first")
    late = threading.Timer(1.0, source.put, args=("late",))
    late.start()
    try:
        started = time.monotonic()
        batches = server_batches(source, batch_size=8, wait_s=0.05)
        assert next(batches) == ["first"]  # closed by the deadline, not held until "late" fills it
        assert time.monotonic() - started < 0.9
        assert next(batches) == ["late"]
    finally:
        late.cancel()
