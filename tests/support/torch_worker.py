"""A device worker on the CPU for the tests of the resident data path (the worker, the pipeline, a benchmark's
compact form), and a model whose answers tell which sample was gathered."""

from __future__ import annotations

import torch
from torch import nn

from harness.backends.pytorch.resident import TorchWorker
from harness.benchmarks.base import CompactForm


class Sums(nn.Module):
    """Each sample's sum, and its first value: enough to tell which sample was gathered."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x.flatten(1).sum(1), x.flatten(1)[:, 0]


def cpu_worker(
    form: CompactForm, shape: tuple[int, ...], model: nn.Module, batch_size: int, sizes: tuple[int, ...] = ()
) -> TorchWorker:
    return TorchWorker(
        name="cpu-0",
        model=model,
        device=torch.device("cpu"),
        dtype=torch.float32,
        channels_last=False,
        form=form,
        sample_shape=shape,
        batch_size=batch_size,
        streams=2,
        batch_sizes=sizes,
        cuda_graphs=True,  # ignored on the CPU
        finish=lambda raw: raw,
        finish_in_graph=True,
    )
