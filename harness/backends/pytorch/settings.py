"""What the PyTorch backend is asked for, checked before any model loads: the output form a benchmark reads,
the device and precision, the compile mode and the options. No CPU fallback: CUDA asked for and missing is an
error."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from harness.backends.base import BackendError
from harness.backends.pytorch.options import PyTorchOptions

PRECISIONS = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}

# The benchmarks this backend serves -> their output forms -> what it answers. A detection benchmark reads either
# final detections or the raw heads; its output names say which. YOLO answers the decoded candidates before NMS
# (the ONNX export's output0), which the benchmark's host postprocess reduces for every backend alike.
_OUTPUT_FORMS: dict[str, dict[tuple[str, ...], str]] = {
    "resnet50": {("ArgMax:0",): "argmax"},
    "retinanet": {("boxes", "labels", "scores"): "detections", ("cls_logits", "bbox_regression"): "heads"},
    "ssd-resnet34": {("bboxes", "labels", "scores"): "detections", ("locs", "confs"): "heads"},
    "yolo-95": {("output0",): "candidates"},
    "yolo-99": {("output0",): "candidates"},
}
# A benchmark's architecture where it is not the benchmark's own name (yolo-95 and yolo-99 share one model).
ARCHITECTURE_OF = {"yolo-95": "yolo11l", "yolo-99": "yolo11l"}


def resolve_outputs(benchmark: str, output_names: Sequence[str]) -> str:
    """What the backend answers ("argmax", "heads" or "detections") for `benchmark` reading `output_names`.

    Empty `output_names` mean the benchmark's first (reference) form.
    """
    forms = _OUTPUT_FORMS.get(benchmark)
    if forms is None:
        raise BackendError(
            f"the pytorch backend has no model for benchmark {benchmark!r}; it serves: {', '.join(_OUTPUT_FORMS)}"
        )
    if not output_names:
        return next(iter(forms.values()))
    kind = forms.get(tuple(output_names))
    if kind is None:
        valid = "; ".join(", ".join(names) for names in forms)
        raise BackendError(
            f"the pytorch backend cannot answer {benchmark} outputs {tuple(output_names)}; it answers: {valid}"
        )
    return kind


def check_compile(options: PyTorchOptions, cuda_graphs: bool) -> None:
    """A compile mode this PyTorch lacks, or one that captures CUDA graphs under ours, is refused up front."""
    mode = options.compile_mode
    if mode is None:
        return
    from torch._inductor import list_mode_options

    modes = sorted(list_mode_options())
    if mode not in modes:
        raise BackendError(
            f"compile_mode {mode!r} is not a torch.compile mode of PyTorch {torch.__version__}; "
            f"it has: {', '.join(modes)}"
        )
    if cuda_graphs and list_mode_options()[mode].get("triton.cudagraphs"):
        raise BackendError(
            f"compile_mode {mode!r} captures its own CUDA graphs, which cannot nest in the backend's; "
            "use max-autotune-no-cudagraphs or default, or set cuda_graphs: false"
        )


def resolve_device(device: str, precision: str) -> torch.device:
    if precision not in PRECISIONS:
        raise BackendError(f"precision {precision!r}: the pytorch backend supports {', '.join(PRECISIONS)}")
    if device == "cpu":
        if precision == "fp16":
            raise BackendError("precision fp16 needs --device cuda; on the CPU use fp32 or bf16")
        return torch.device("cpu")
    prefix, _, index = device.partition(":")
    if prefix != "cuda" or (index and not index.isdigit()):
        raise BackendError(f"device {device!r}: use cpu, cuda or cuda:N")
    if not torch.cuda.is_available():
        raise BackendError(
            f"--device {device} asked for, but PyTorch sees no CUDA device (torch {torch.__version__}, "
            f"CUDA build {torch.version.cuda}); run on a GPU host with a CUDA build of torch, or pass --device cpu"
        )
    ordinal = int(index or 0)
    if ordinal >= torch.cuda.device_count():
        raise BackendError(f"--device {device}: only {torch.cuda.device_count()} CUDA device(s) visible")
    return torch.device("cuda", ordinal)


def check_options(options: PyTorchOptions) -> None:
    """Batch sizes, streams, workers and the batching wait are refused by name when out of range."""
    sizes = list(options.batch_sizes)
    if not all(isinstance(size, int) and size > 0 for size in sizes):
        raise BackendError(f"pytorch option batch_sizes={sizes!r}: give positive whole numbers, e.g. [16, 32, 64]")
    if options.streams < 1 or options.workers_per_device < 1 or options.max_batch_wait_ms < 0:
        raise BackendError(
            f"pytorch options streams={options.streams}, workers_per_device={options.workers_per_device}, "
            f"max_batch_wait_ms={options.max_batch_wait_ms}: streams and workers_per_device must be at least 1, "
            "max_batch_wait_ms at least 0"
        )
