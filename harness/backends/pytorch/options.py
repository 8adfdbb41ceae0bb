"""The PyTorch backend's options, kept apart from the backend so the registry reads them without importing torch."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PyTorchOptions:
    """Settings beyond the registry's common benchmark/device/precision/threads."""

    channels_last: bool = True
    cuda_graphs: bool = True  # CUDA only; the CPU always runs eagerly
    compile_mode: str | None = None  # a torch.compile mode ("default", "max-autotune", ...); None = eager
