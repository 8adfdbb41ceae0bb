"""ONNX Runtime backend: the CPU provider, or the CUDA provider where the installed onnxruntime has it.

Asking for CUDA where onnxruntime has no CUDA provider, or where the provider fails to start, is an error:
ONNX Runtime itself would quietly fall back to the CPU, and a CPU number must never be reported as a GPU one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

from harness.backends.base import BackendError, BackendInfo, NoOptions
from harness.contract import DEFAULT_BATCH_SIZE

_CPU = "CPUExecutionProvider"
_CUDA = "CUDAExecutionProvider"
_PRECISIONS = ("fp32", "int8")


class OnnxRuntimeBackend:
    """Runs an ONNX model with one onnxruntime InferenceSession."""

    def __init__(
        self,
        *,
        benchmark: str,
        device: str = "cpu",
        precision: str = "fp32",
        threads: int | None = None,
        output_names: tuple[str, ...] = (),
        options: NoOptions | None = None,
        cache_dir: Path | None = None,  # unused: ONNX Runtime builds nothing worth keeping between runs
        batch_size: int = DEFAULT_BATCH_SIZE,  # unused: any batch runs; each comes with its infer call
    ) -> None:
        """`output_names` are the outputs fetched by name, in the benchmark's order (empty = all, as stored);
        `benchmark` is named in errors. ONNX Runtime takes no backend options. The model runs as stored: precision
        int8 states that it is a quantised (QDQ) model, as `build.py calibrate` makes them."""
        if precision not in _PRECISIONS:
            raise BackendError(
                f"onnxruntime backend runs the model as stored; --precision {precision} is not supported, use "
                "--precision fp32, or int8 with a QDQ model made by `build.py calibrate`"
            )
        if threads is not None and threads < 1:
            raise BackendError(f"--threads {threads} must be 1 or more")
        self._benchmark = benchmark
        self._device = device
        self._device_id = _cuda_device_id(device)
        self._precision = precision
        self._threads = threads
        self._output_names = output_names
        self._session: ort.InferenceSession | None = None
        self._input_name = ""
        self._input_shape: tuple[int | None, ...] = ()

    def load(self, model_path: Path) -> None:
        """Open the model; fails if it is not ONNX or lacks the outputs the benchmark reads."""
        providers = self._providers()
        options = ort.SessionOptions()
        if self._threads is not None:
            options.intra_op_num_threads = self._threads
        try:
            session = ort.InferenceSession(str(model_path), sess_options=options, providers=providers)
        except Exception as error:  # onnxruntime raises its own untyped exceptions for every bad model
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise BackendError(
                f"cannot load {model_path} as an ONNX model ({first_line}); pass --model with a valid .onnx file"
            ) from error
        if self._device_id is not None and session.get_providers()[0] != _CUDA:
            raise BackendError(
                f"onnxruntime could not start its CUDA provider for {model_path} (it would run on the CPU); "
                "check the NVIDIA driver and CUDA libraries, or use --device cpu"
            )
        inputs = session.get_inputs()
        if len(inputs) != 1:
            raise BackendError(f"{model_path} has {len(inputs)} inputs; the harness feeds exactly one")
        available = [output.name for output in session.get_outputs()]
        missing = [name for name in self._output_names if name not in available]
        if missing:
            raise BackendError(
                f"{model_path} has outputs {available} but the {self._benchmark} benchmark reads {list(missing)}; "
                "pass the benchmark's reference model"
            )
        self._session = session
        self._input_name = inputs[0].name
        self._input_shape = tuple(dim if isinstance(dim, int) else None for dim in inputs[0].shape)

    def model_input_shape(self) -> tuple[int | None, ...]:
        """The loaded model's declared input shape, batch axis included; None where a dimension is symbolic."""
        return self._input_shape

    def warmup(self, batch: np.ndarray) -> None:
        """One inference; a model that cannot take the benchmark's input fails here, before any timing."""
        try:
            self.infer(batch)
        except BackendError:
            raise
        except Exception as error:  # onnxruntime's own exception types
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise BackendError(
                f"the model cannot run a {batch.dtype} batch shaped {batch.shape} ({first_line}); "
                "pass a model with the benchmark's input signature"
            ) from error

    def infer(self, batch: np.ndarray) -> list[np.ndarray]:
        if self._session is None:
            raise BackendError("onnxruntime backend: infer() called before load()")
        names = list(self._output_names) or None
        return list(self._session.run(names, {self._input_name: batch}))

    def info(self) -> BackendInfo:
        if self._session is not None:
            providers: list[str] = self._session.get_providers()
        else:  # before load: the providers that load will ask for, by name (without their options)
            providers = [p if isinstance(p, str) else p[0] for p in self._providers()]
        device = "cpu" if self._device_id is None else f"cuda:{self._device_id}"
        details = {"providers": ",".join(providers)}
        if self._threads is not None:
            details["intra_op_num_threads"] = str(self._threads)
        return BackendInfo(
            backend="onnxruntime",
            version=ort.__version__,
            device=device,
            precision=self._precision,
            details=details,
        )

    def _providers(self) -> list[str | tuple[str, dict[str, str]]]:
        if self._device_id is None:
            return [_CPU]
        if _CUDA not in ort.get_available_providers():
            raise BackendError(
                f"--device {self._device} asks for CUDA but this onnxruntime {ort.__version__} has only "
                f"{ort.get_available_providers()}; install onnxruntime-gpu or use --device cpu"
            )
        return [(_CUDA, {"device_id": str(self._device_id)})]


def _cuda_device_id(device: str) -> int | None:
    """None for "cpu", the GPU index for "cuda" / "cuda:N"."""
    if device == "cpu":
        return None
    if device == "cuda":
        return 0
    prefix, _, index = device.partition(":")
    if prefix == "cuda" and index.isdigit():
        return int(index)
    raise BackendError(f"--device {device!r} is not one of cpu, cuda, cuda:N")
