"""The ONNX model's input name and sample shape, which the optimisation profiles are written for."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from harness.backends.base import BackendError


def read_onnx_input(path: Path, fallback_shape: Sequence[int] | None = None) -> tuple[str, tuple[int, ...]]:
    """(input name, one sample's shape); dynamic non-batch dims are taken from `fallback_shape`."""
    if not path.is_file():
        raise BackendError(f"ONNX model {path} does not exist; pass the model file (or --engine ENGINE)")
    try:
        import onnx
    except ImportError as exc:
        raise BackendError("reading the ONNX model's input needs the onnx package: pip install onnx") from exc
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # onnx raises DecodeError and others for a corrupt file
        raise BackendError(f"{path} is not a readable ONNX model ({exc})") from exc
    initialisers = {i.name for i in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initialisers]
    if len(inputs) != 1:
        names = [i.name for i in inputs]
        raise BackendError(f"{path} has {len(inputs)} inputs ({names}); the harness feeds exactly one")
    dims = [d.dim_value if d.HasField("dim_value") else -1 for d in inputs[0].type.tensor_type.shape.dim]
    sample = tuple(dims[1:])
    if any(d < 1 for d in sample):
        if fallback_shape is None or len(fallback_shape) != len(sample):
            raise BackendError(
                f"{path} input {inputs[0].name!r} has dynamic dims {dims}; the benchmark's input shape is needed"
            )
        sample = tuple(int(d) for d in fallback_shape)
    return inputs[0].name, sample
