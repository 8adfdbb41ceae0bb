"""The SUTs (harness/loadgen/sut.py): Server's workers batch what is waiting."""

from __future__ import annotations

import threading

from harness.loadgen.sut import ServerSUT


def test_server_workers_batch_what_is_waiting_up_to_the_batch_size() -> None:
    batches: list[list[int]] = []
    lock = threading.Lock()

    class Recorder:
        def answer(self, batch: list[int]) -> None:
            with lock:
                batches.append(list(batch))

    sut = ServerSUT(Recorder(), batch_size=4, workers=1)  # type: ignore[arg-type]
    sut.issue_query(list(range(10)))  # type: ignore[arg-type]
    sut.start()
    sut.stop()
    assert batches == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
