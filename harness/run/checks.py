"""The run's inputs checked before anything is measured: each failure names the input and the fix."""

from __future__ import annotations

from pathlib import Path

from harness.backends.base import Backend, ShapeReportingBackend
from harness.benchmarks.base import Benchmark, varying_input_of

# A key each compliance test's audit.config sets: a file without it is another test's (or not one at all).
_AUDIT_KEYS = {
    "TEST01": ("accuracy_log_sampling_target", "accuracy_log_probability"),
    "TEST04": ("performance_issue_same",),
}


class RunError(RuntimeError):
    """A run input is unusable; the message names it and the fix."""


def check_input_shape(backend: Backend, model: Path, benchmark: Benchmark) -> None:
    """A model made for another input size fails here with both sizes named, not deep inside the runtime.

    Backends that can read the model's declared input offer it (ShapeReportingBackend); for the others the
    warm-up batch is the check.
    """
    if not isinstance(backend, ShapeReportingBackend):
        return
    declared = tuple(backend.model_input_shape())
    if not declared:
        return
    sample = declared[1:]
    varying = varying_input_of(benchmark)
    if varying is not None and any(dim is not None for dim in sample[1:]):
        shown = "x".join("?" if dim is None else str(dim) for dim in sample)
        raise RunError(
            f"model {model} takes inputs of {shown} per sample but {benchmark.name} feeds samples of varying size "
            f"({varying}); pass a model exported with dynamic height and width"
        )
    fits = len(sample) == len(benchmark.input_shape) and all(
        dim is None or dim == want for dim, want in zip(sample, benchmark.input_shape, strict=False)
    )
    if not fits:
        shown = "x".join("?" if dim is None else str(dim) for dim in sample)
        wanted = "x".join(str(dim) for dim in benchmark.input_shape)
        raise RunError(
            f"model {model} takes inputs of {shown} per sample but {benchmark.name} feeds {wanted}; "
            "pass a model with the benchmark's input signature"
        )


def check_batching(benchmark: Benchmark, batch_size: int) -> None:
    """A benchmark whose samples differ in size (YOLO's minimal padding) cannot stack them: one per inference."""
    varying = varying_input_of(benchmark)
    if varying is not None and batch_size > 1:
        raise RunError(
            f"{benchmark.name} feeds samples of varying size ({varying}), which do not stack into a batch of "
            f"{batch_size}; set batch_size 1 (--batch-size 1 by hand)"
        )


def check_audit_config(test: str, text: str) -> None:
    if not any(key in text for key in _AUDIT_KEYS[test]):
        raise RunError(
            f"the audit.config given for {test} sets none of {', '.join(_AUDIT_KEYS[test])}, so it is not "
            f"{test}'s; pass the round's compliance/{test}/audit.config (for TEST01 the one in the benchmark's folder)"
        )


def check_model(model: Path) -> None:
    if not model.is_file():
        raise RunError(f"model file {model} does not exist; pass --model with the path of the model file")
