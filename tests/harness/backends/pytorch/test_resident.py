"""The PyTorch worker of resident samples (harness/backends/pytorch/resident.py), here on the CPU (no CUDA on CI
machines): the same gather, expansion and model as on a GPU, without streams and graphs. tests/gpu/test_pytorch_cuda.py
runs the CUDA side where a GPU is present."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from harness.benchmarks.base import CompactForm
from tests.support.torch_worker import Sums, cpu_worker


def test_worker_gathers_stored_samples_by_slot_and_drops_the_padding_rows() -> None:
    form = CompactForm("uint8", (1.0, 2.0), 4.0, "test")
    worker = cpu_worker(form, (2, 1, 1), Sums(), batch_size=4)
    samples = np.arange(10, dtype=np.uint8).reshape(5, 2, 1, 1) * 10  # sample n holds 20n and 20n + 10
    worker.store(np.array([4, 0, 1, 3, 2]), samples)  # slot 4 <- sample 0, slot 0 <- sample 1, ...
    assert worker.device_bytes() == 10  # uint8: one byte per value, 5 samples of 2
    sums, firsts = worker.launch(np.array([4, 2, 0])).result()
    expected = [
        (v - np.array([1.0, 2.0])) / 4.0 for v in (samples[0, :, 0, 0], samples[4, :, 0, 0], samples[1, :, 0, 0])
    ]
    np.testing.assert_array_equal(sums, np.array([e.sum() for e in expected], np.float32))
    np.testing.assert_array_equal(firsts, np.array([e[0] for e in expected], np.float32))
    with pytest.raises(ValueError, match="a batch of 5 samples on a worker built for batch size 4"):
        worker.launch(np.arange(5))


class _Shapes(nn.Module):
    """Answers, per sample, the batch size the network ran at."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor]:
        return (torch.full((x.shape[0],), float(x.shape[0])),)


def test_a_batch_runs_at_the_smallest_batch_size_that_holds_it() -> None:
    worker = cpu_worker(CompactForm("uint8", (0.0,), 1.0, "t"), (1, 1, 1), _Shapes(), batch_size=8, sizes=(2, 4, 16))
    assert worker.run_sizes == [2, 4, 8]  # sizes above the batch size are not run
    worker.store(np.arange(8), np.zeros((8, 1, 1, 1), np.uint8))
    ran = {count: worker.launch(np.arange(count)).result()[0] for count in (1, 2, 3, 5, 8)}
    assert {count: (len(out), float(out[0])) for count, out in ran.items()} == {
        1: (1, 2.0),
        2: (2, 2.0),
        3: (3, 4.0),
        5: (5, 8.0),
        8: (8, 8.0),
    }
