"""ONNX Runtime's own static quantization: a QDQ INT8 model from the full-precision one and the calibration images.

The model is first pre-processed as ONNX Runtime advises (quant_pre_process: ONNX shape inference and ONNX Runtime's
basic graph optimisation, which folds batch norms and constant scales into the convolutions), so the quantised graph
has one Q/DQ pair per convolution rather than a float Mul and Add after each. Symbolic shape inference is skipped: it
needs sympy, and the vision models here have static sample shapes. Weights are then quantised per output channel to
signed 8 bits, activations to unsigned 8 bits (U8S8, the pairing ONNX Runtime's CPU kernels are fastest with on x86),
with activation ranges from the calibration images by `method`.

Weights use 7 of the 8 bits (`reduce_range`: [-64, 64]), as ONNX Runtime advises for U8S8 per channel on x86 without
VNNI. There its kernels multiply with VPMADDUBSW, which adds each two adjacent u8 x s8 products into a saturating int16:
with full-range weights 2 x 255 x 127 > 32,767, so an INT8 model exact on a VNNI CPU (VPDPBUSD accumulates in int32)
answers differently on an AVX2-only one. With 7-bit weights 2 x 255 x 64 = 32,640 cannot saturate, so the integer
arithmetic is exact on every x86 CPU, whichever one calibrated the model and whichever runs it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process

from harness.backends.calibration_list import CalibrationError

_METHODS = {
    "minmax": CalibrationMethod.MinMax,
    "entropy": CalibrationMethod.Entropy,
    "percentile": CalibrationMethod.Percentile,
}


class _Batches(CalibrationDataReader):  # type: ignore[misc]  # onnxruntime is untyped
    """Feeds the calibration batches to ONNX Runtime's calibrator, one at a time (they are read lazily)."""

    def __init__(self, input_name: str, batches: Iterator[np.ndarray]) -> None:
        self._input_name = input_name
        self._batches = batches

    def get_next(self) -> dict[str, np.ndarray] | None:
        batch = next(self._batches, None)
        return None if batch is None else {self._input_name: batch}


def describe(method: str) -> str:
    return (
        f"ONNX Runtime {ort.__version__} static quantization (onnxruntime.quantization.quant_pre_process without "
        "symbolic shape inference, then quantize_static): QDQ format, weights int8 symmetric per channel "
        f"in 7 bits (reduce_range: no int16 saturation on x86 without VNNI), activations uint8 with ranges by {method} "
        "calibration"
    )


def quantize(model: Path, output: Path, batches: Iterator[np.ndarray], method: str) -> None:
    """Write the QDQ INT8 model to `output` (through a temporary name, so a failure leaves no artefact)."""
    input_name = _input_name(model)
    partial = output.with_name(f".{output.name}.partial")
    try:
        with tempfile.TemporaryDirectory(prefix="quant-pre-") as scratch:
            prepared = Path(scratch) / "prepared.onnx"
            quant_pre_process(str(model), str(prepared), skip_symbolic_shape=True)
            _quantize(prepared, partial, input_name, batches, method)
        os.replace(partial, output)
    except CalibrationError:
        raise
    except Exception as error:  # onnxruntime.quantization raises untyped errors for models it cannot handle
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CalibrationError(
            f"ONNX Runtime could not quantise {model} ({type(error).__name__}: {first}); pass a float ONNX model"
        ) from error
    finally:
        partial.unlink(missing_ok=True)


def _quantize(model: Path, output: Path, input_name: str, batches: Iterator[np.ndarray], method: str) -> None:
    quantize_static(
        str(model),
        str(output),
        _Batches(input_name, batches),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        reduce_range=True,  # 7-bit weights: no int16 saturation on x86 without VNNI (the module's docstring)
        calibrate_method=_METHODS[method],
    )


def _input_name(model: Path) -> str:
    try:
        session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime's own exception types
        raise CalibrationError(f"cannot load {model} as an ONNX model ({error}); pass --model FILE.onnx") from error
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise CalibrationError(f"{model} has {len(inputs)} inputs; calibration feeds exactly one")
    return str(inputs[0].name)
