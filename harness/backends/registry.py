"""Inference backends by name.

Each entry names two "module:attr" targets, both imported only when chosen: the backend class, whose module imports
its runtime (onnxruntime, tensorrt, torch) at import time, and its frozen options dataclass, which lives in a module
with no runtime import. The options are checked against that dataclass before the backend module is imported, so a
mistyped option is refused the same way on a CPU image that has no torch or tensorrt.
Adding a backend is one entry in `_ENTRIES`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from harness.backends.base import Backend, BackendError
from harness.contract import DEFAULT_BATCH_SIZE
from harness.registries import checked_options, load_target, lookup


@dataclass(frozen=True)
class _Entry:
    backend: str  # "module:attr" of the backend class
    options: str  # "module:attr" of its frozen options dataclass (its fields are the options it takes)


_ENTRIES: Mapping[str, _Entry] = MappingProxyType(
    {
        "onnxruntime": _Entry("harness.backends.onnxruntime:OnnxRuntimeBackend", "harness.backends.base:NoOptions"),
        "pytorch": _Entry(
            "harness.backends.pytorch.backend:PyTorchBackend", "harness.backends.pytorch.options:PyTorchOptions"
        ),
        "tensorrt": _Entry(
            "harness.backends.tensorrt.backend:TensorRTBackend", "harness.backends.tensorrt.options:TensorRTOptions"
        ),
    }
)

BACKENDS: tuple[str, ...] = tuple(sorted(_ENTRIES))


class UnknownBackendError(ValueError):
    """The backend name is not in the registry; the message lists the valid names."""


def get_backend(
    name: str,
    *,
    benchmark: str,
    device: str,
    precision: str,
    threads: int | None,
    output_names: tuple[str, ...],
    options: Mapping[str, object],
    cache_dir: Path | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> Backend:
    """A new backend called `name` for `benchmark` (e.g. "resnet50"), given the backend `options` it declares.

    `device` is "cpu", "cuda" or "cuda:N", `threads` None for the runtime's default, `output_names` the benchmark's
    (for runtimes that fetch outputs by name). An option the backend does not declare is a BackendError raised
    before the backend's runtime is imported; values it cannot honour are BackendErrors from the backend itself.
    `cache_dir` is where a backend may keep what it builds across runs (the PyTorch backend's compiled kernels);
    `batch_size` is the run's (the shape TensorRT's engine profile is built for).
    """
    entry = _entry(name)
    checked = checked_options("backend", name, load_target(entry.options), options, BackendError)
    factory = load_target(entry.backend)
    return factory(
        benchmark=benchmark,
        device=device,
        precision=precision,
        threads=threads,
        output_names=output_names,
        options=checked,
        cache_dir=cache_dir,
        batch_size=batch_size,
    )


def backend_options(name: str) -> tuple[str, ...]:
    """The option names the backend called `name` takes, read without importing its runtime."""
    return tuple(field.name for field in dataclasses.fields(load_target(_entry(name).options)))


def _entry(name: str) -> _Entry:
    return lookup(_ENTRIES, "backend", name, UnknownBackendError)
