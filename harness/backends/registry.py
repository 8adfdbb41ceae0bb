"""Inference backends by name.

Each entry is a "module:attr" string imported only when chosen: a backend module imports its runtime
(onnxruntime, tensorrt, torch) at import time, and the CPU image has no torch or tensorrt.
Adding a backend is one line in `_ENTRIES`.
"""

from __future__ import annotations

import importlib
from typing import Any

from harness.backends.base import Backend

_ENTRIES: dict[str, str] = {
    "onnxruntime": "harness.backends.onnxruntime:OnnxRuntimeBackend",
    "pytorch": "harness.backends.pytorch.backend:PyTorchBackend",
    "tensorrt": "harness.backends.tensorrt.backend:TensorRTBackend",
}

BACKENDS: tuple[str, ...] = tuple(sorted(_ENTRIES))


class UnknownBackendError(ValueError):
    """The backend name is not in the registry; the message lists the valid names."""


def get_backend(name: str, **options: Any) -> Backend:
    """A new backend called `name`, constructed with `options`.

    The CLI passes `device: str` ("cpu", "cuda", "cuda:1"), `precision: str` ("fp32", ...),
    `threads: int | None` (None = the runtime's default) and `output_names: tuple[str, ...]` (the benchmark's,
    for runtimes that fetch outputs by name). Every backend accepts these keywords and raises BackendError for
    values it cannot honour (e.g. device="cuda" where no GPU runtime is installed).
    """
    target = _ENTRIES.get(name)
    if target is None:
        raise UnknownBackendError(f"unknown backend {name!r}; valid: {', '.join(BACKENDS)}")
    module_name, attr = target.split(":")
    factory = getattr(importlib.import_module(module_name), attr)
    return factory(**options)
