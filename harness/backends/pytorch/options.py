"""The PyTorch backend's options, kept apart from the backend so the registry reads them without importing torch."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PyTorchOptions:
    """Settings beyond the registry's common benchmark/device/precision/threads."""

    channels_last: bool = True
    cuda_graphs: bool = True  # CUDA only; the CPU always runs eagerly
    # A torch.compile mode ("default", "max-autotune-no-cudagraphs", ...); None = eager. Modes that capture their
    # own CUDA graphs ("reduce-overhead", "max-autotune") need cuda_graphs: false.
    compile_mode: str | None = None
    # Samples stay on the device(s) in the benchmark's compact form and queries run through the pipelined SUT
    # (harness/loadgen/pipeline.py); false: the host gathers each batch and copies it over (the former path).
    resident: bool = True
    streams: int = 2  # batches in flight per worker, each on its own CUDA stream (and graph)
    workers_per_device: int = 1  # model replicas per device (more than one shares the device between them)
    max_batch_wait_ms: float = 1.0  # Server: how long the oldest queued sample waits for its batch to fill
    # Smaller batch sizes to run at besides the run's batch size (each its own compiled shape and graph): a batch
    # runs at the smallest that holds it. For Server, whose dynamic batches vary, e.g. [16, 32, 64].
    batch_sizes: tuple[int, ...] = ()
