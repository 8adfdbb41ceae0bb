"""Server's dynamic batching, one definition for both SUT families (host batches in `sut.py`, device workers in
`pipeline.py`): a batch closes when full or when its oldest sample has waited the batching deadline.

The deadline runs from when the first sample was taken, not from each arrival: under a steady trickle a batch
would otherwise wait for ever to fill, and the oldest sample's latency is what Server's percentile bounds.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from typing import TypeVar

Item = TypeVar("Item")


def server_batches(source: queue.SimpleQueue[Item | None], batch_size: int, wait_s: float) -> Iterator[list[Item]]:
    """The batches `source` delivers until it yields None (the stop mark, one per consumer).

    Each batch is the first waiting item plus what arrives within `wait_s` of taking it, up to `batch_size`; a
    stop mark met while filling ends the batches after the one being filled, which is still yielded."""
    while True:
        first = source.get()
        if first is None:
            return
        batch = [first]
        deadline = time.monotonic() + wait_s
        while len(batch) < batch_size:
            remaining = deadline - time.monotonic()
            try:
                item = source.get(timeout=remaining) if remaining > 0 else source.get_nowait()
            except queue.Empty:
                break
            if item is None:
                yield batch
                return
            batch.append(item)
        yield batch
