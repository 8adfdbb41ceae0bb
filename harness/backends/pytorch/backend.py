"""PyTorch backend: MLPerf architectures on CUDA in fp16/bf16, channels_last, CUDA graphs per batch size.

CUDA graphs replay the network for a fixed input shape: one graph is captured per batch size seen (the
warm-up batch first), and a smaller batch is padded to the smallest captured size that holds it. Samples of
another height and width (YOLO's minimal padding) get graphs of their own. Detection
postprocessing (data-dependent shapes) runs after the replay, on the GPU as well. No CPU fallback: asking
for CUDA without it is an error.
"""

from __future__ import annotations

import copy
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import numpy as np
import torch
from torch import nn

from harness.backends.base import BackendError, BackendInfo
from harness.backends.pytorch import postprocess
from harness.backends.pytorch.layers import fold_batch_norms
from harness.backends.pytorch.models import ARCHITECTURES, init_random
from harness.backends.pytorch.options import PyTorchOptions
from harness.backends.pytorch.resident import TorchWorker, out_of_memory
from harness.backends.pytorch.settings import (
    ARCHITECTURE_OF,
    PRECISIONS,
    check_compile,
    check_options,
    resolve_device,
    resolve_outputs,
)
from harness.backends.pytorch.weights import ModelSpec, load_state_dict, read_model_spec
from harness.backends.tensorrt.hashing import file_sha256
from harness.benchmarks.base import CompactForm
from harness.contract import DEFAULT_BATCH_SIZE

_INPUT_SIZE = {"resnet50": 224, "retinanet": 800, "ssd-resnet34": 1200}
_PARALLEL_COPY_BYTES = 8 << 20  # below this a single memcpy beats handing blocks to threads


@dataclass
class _Graph:
    graph: torch.cuda.CUDAGraph
    inputs: torch.Tensor
    outputs: tuple[torch.Tensor, ...]


@dataclass
class _Loaded:
    model: nn.Module
    module: nn.Module  # before torch.compile: what replicas on other devices are copied from
    architecture: str
    kind: str
    device: torch.device
    details: dict[str, str]
    graphs: dict[tuple[int, ...], _Graph] = field(default_factory=dict)  # by input shape, batch first
    anchors: tuple[torch.Tensor, tuple[int, ...]] | None = None
    staging: torch.Tensor | None = None  # page-locked host copy of the largest batch so far


class PyTorchBackend:
    """Backend over PyTorch; see the module docstring. `benchmark` picks the architecture, `output_names` which
    of its output forms (detections or raw heads) to answer."""

    def __init__(
        self,
        *,
        benchmark: str,
        device: str = "cuda",
        precision: str = "fp16",
        threads: int | None = None,
        output_names: Sequence[str] = (),
        options: PyTorchOptions | None = None,
        cache_dir: Path | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,  # unused: batch sizes come with resident_workers() and infer()
    ) -> None:
        options = options or PyTorchOptions()
        self.options = options
        self.device_setting = device
        self._compile_cache = cache_dir / "torch-compile" if cache_dir is not None else None
        self.kind = resolve_outputs(benchmark, output_names)
        self.architecture = ARCHITECTURE_OF.get(benchmark, benchmark)
        self.benchmark = benchmark
        self.device = resolve_device(device, precision)
        self.precision = precision
        self.dtype = PRECISIONS[precision]
        self.channels_last = options.channels_last
        self.cuda_graphs = options.cuda_graphs and self.device.type == "cuda"
        self.compile_mode = options.compile_mode
        check_compile(options, self.cuda_graphs)
        check_options(options)
        if threads is not None:
            torch.set_num_threads(threads)
        if self.device.type == "cuda":
            # Input shapes are fixed per batch size, so cuDNN's autotuner pays off once per shape.
            torch.backends.cudnn.benchmark = True
        self._loaded: _Loaded | None = None
        self._lock = threading.Lock()  # graph buffers are shared: one inference at a time
        self._copy_workers = min(8, os.cpu_count() or 1)
        self._copier = ThreadPoolExecutor(max_workers=self._copy_workers, thread_name_prefix="h2d")

    def load(self, model_path: Path) -> None:
        spec = read_model_spec(model_path)
        architecture, kind = self.architecture, self.kind
        if spec.architecture is not None and spec.architecture != architecture:
            raise BackendError(
                f"the model spec names {spec.architecture!r} but {self.benchmark} runs {architecture}; "
                f'set "architecture": "{architecture}" in the spec'
            )
        model = ARCHITECTURES[architecture]()
        details = {"architecture": architecture, "outputs": kind, **self._weights(model, spec)}
        details["batch_norms_folded"] = str(fold_batch_norms(model))
        module = self._placed(model.eval(), self.device)
        model = self._compiled(module)
        details.update(
            channels_last=str(self.channels_last),
            cuda_graphs=str(self.cuda_graphs),
            compile=self.compile_mode or "off",
            batch_padding="to the smallest captured batch size" if self.cuda_graphs else "none",
        )
        loaded = _Loaded(model, module, architecture, kind, self.device, details)
        if kind == "detections":
            loaded.anchors = self._anchors(architecture)
        self._loaded = loaded

    def _placed(self, model: nn.Module, device: torch.device) -> nn.Module:
        model = model.to(device, self.dtype)
        if self.channels_last:
            # Module.to accepts memory_format at run time; torch's stubs omit that overload.
            model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        return model

    def _compiled(self, module: nn.Module) -> nn.Module:
        if self.compile_mode is None:
            return module
        if self._compile_cache is not None:
            # Inductor's and Triton's caches in the experiment's cache, so a second run reuses the kernels.
            # Environment variables are how both read their folder; the harness runs one model per process.
            os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(self._compile_cache / "inductor"))
            os.environ.setdefault("TRITON_CACHE_DIR", str(self._compile_cache / "triton"))
        # torch.compile of a Module answers an OptimizedModule (a Module); the stubs say only Callable.
        return cast(nn.Module, torch.compile(module, mode=self.compile_mode))

    def _weights(self, model: nn.Module, spec: ModelSpec) -> dict[str, str]:
        if spec.weights is None:
            init_random(model, spec.seed)
            return {"weights": f"random (seed {spec.seed}); speed runs only, no accuracy meaning"}
        load_state_dict(model, spec.weights)
        return {"weights": str(spec.weights), "weights_sha256": file_sha256(spec.weights)}

    def _anchors(self, architecture: str, device: torch.device | None = None) -> tuple[torch.Tensor, tuple[int, ...]]:
        from harness.benchmarks.detection.anchors import retinanet_anchors, ssd_r34_default_boxes

        size = _INPUT_SIZE[architecture]
        anchor_set = retinanet_anchors(size) if architecture == "retinanet" else ssd_r34_default_boxes(size)
        return torch.from_numpy(anchor_set.boxes).to(device or self.device, torch.float32), anchor_set.per_level

    # -- samples resident on the device(s) -------------------------------------------------------------------

    def resident_devices(self) -> list[torch.device]:
        """Where resident workers run: every visible GPU for `cuda`, the one named by `cuda:N`, or the CPU."""
        if self.device.type == "cuda" and self.device_setting == "cuda":
            return [torch.device("cuda", n) for n in range(torch.cuda.device_count())]
        return [self.device]

    def resident_workers(
        self, form: CompactForm | None, sample_shape: Sequence[int], batch_size: int
    ) -> list[TorchWorker] | None:
        """Warmed-up workers holding samples on the device(s), or None when the `resident` option is off.

        `form` None: the benchmark has no compact form, so its float32 samples are stored as they are."""
        if not self.options.resident:
            return None
        loaded = self._require()
        form = form or CompactForm("float32", (0.0,) * int(sample_shape[0]), 1.0, "float32")
        workers = []
        warmups: list[float] = []
        for device in self.resident_devices():
            for replica in range(self.options.workers_per_device):
                same = device == loaded.device and replica == 0
                model = loaded.model if same else self._compiled(self._placed(copy.deepcopy(loaded.module), device))
                worker = TorchWorker(
                    name=f"{device}-{replica}",
                    model=model,
                    device=device,
                    dtype=self.dtype,
                    channels_last=self.channels_last,
                    form=form,
                    sample_shape=sample_shape,
                    batch_size=batch_size,
                    streams=self.options.streams,
                    batch_sizes=tuple(self.options.batch_sizes),
                    cuda_graphs=self.cuda_graphs,
                    finish=self._finisher(loaded, device),
                    finish_in_graph=loaded.kind != "detections",
                )
                started = time.perf_counter()
                try:
                    worker.warmup()
                except torch.cuda.OutOfMemoryError as error:
                    raise out_of_memory(worker, batch_size, error) from None
                warmups.append(time.perf_counter() - started)
                workers.append(worker)
        loaded.details.update(
            resident="yes",
            resident_workers=",".join(w.name for w in workers),
            streams=str(self.options.streams),
            run_batch_sizes=",".join(map(str, workers[0].run_sizes)),
            # Compilation happens here: with a warm compile cache (torch-compile/ in the cache folder) it is short.
            warmup_seconds=",".join(f"{seconds:.1f}" for seconds in warmups),
        )
        return workers

    def _finisher(self, loaded: _Loaded, device: torch.device) -> Callable[[list[torch.Tensor]], list[torch.Tensor]]:
        view = _Loaded(loaded.model, loaded.module, loaded.architecture, loaded.kind, device, loaded.details)
        if loaded.kind == "detections":
            view.anchors = self._anchors(loaded.architecture, device)
        return lambda raw: self._finish(view, raw)

    def _require(self) -> _Loaded:
        if self._loaded is None:
            raise BackendError("the pytorch backend has no model yet; call load() first")
        return self._loaded

    def warmup(self, batch: np.ndarray) -> None:
        # Captures the graph for the run's batch size (and runs cuDNN's autotuning) before timing starts.
        if self.options.resident:
            return  # the resident workers warm up their own replicas (resident_workers)
        try:
            for _ in range(2):
                self.infer(batch)
        except torch.cuda.OutOfMemoryError:
            torch.cuda.empty_cache()
            raise BackendError(
                f"batch size {batch.shape[0]} does not fit the memory of {self.device}; lower batch_size"
            ) from None

    def infer(self, batch: np.ndarray) -> list[np.ndarray]:
        loaded = self._require()
        count = batch.shape[0]
        with self._lock, torch.inference_mode():
            inputs = self._to_device(loaded, np.ascontiguousarray(batch)).to(self.dtype)
            raw = self._replay(loaded, inputs) if self.cuda_graphs else loaded.model(self._layout(inputs))
            outputs = self._finish(loaded, [r[:count] for r in raw])
            return [o.cpu().numpy() for o in outputs]

    def _to_device(self, loaded: _Loaded, batch: np.ndarray) -> torch.Tensor:
        """The batch on the device, through a reused page-locked buffer (one host copy, then DMA)."""
        if self.device.type != "cuda":
            return torch.from_numpy(batch)
        staging = loaded.staging
        dtype = torch.from_numpy(batch[:0]).dtype
        if (
            staging is None
            or staging.dtype != dtype
            or staging.shape[0] < batch.shape[0]
            or staging.shape[1:] != batch.shape[1:]
        ):
            staging = torch.empty(batch.shape, dtype=dtype, pin_memory=True)
            loaded.staging = staging
        host = staging[: batch.shape[0]]
        self._parallel_copy(host.numpy(), batch)
        # Safe to reuse on the next call: infer() copies its outputs back, which waits for this copy too.
        return host.to(self.device, non_blocking=True)

    def _parallel_copy(self, dst: np.ndarray, src: np.ndarray) -> None:
        """Copy big batches in row blocks on several threads (NumPy releases the GIL while copying)."""
        rows = src.shape[0]
        if src.nbytes < _PARALLEL_COPY_BYTES or rows < 2:
            np.copyto(dst, src)
            return
        blocks = np.array_split(np.arange(rows), min(rows, self._copy_workers))
        futures = [self._copier.submit(np.copyto, dst[b[0] : b[-1] + 1], src[b[0] : b[-1] + 1]) for b in blocks]
        for future in futures:
            future.result()

    def _layout(self, inputs: torch.Tensor) -> torch.Tensor:
        return inputs.contiguous(memory_format=torch.channels_last) if self.channels_last else inputs

    def _replay(self, loaded: _Loaded, inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        count = inputs.shape[0]
        fitting = sorted(s for s in loaded.graphs if s[1:] == inputs.shape[1:] and s[0] >= count)
        graph = loaded.graphs[fitting[0]] if fitting else self._capture(loaded, inputs)
        graph.inputs[:count].copy_(inputs)
        graph.graph.replay()
        return graph.outputs

    def _capture(self, loaded: _Loaded, inputs: torch.Tensor) -> _Graph:
        static = self._layout(torch.zeros_like(inputs))
        side = torch.cuda.Stream(self.device)
        side.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(side):
            for _ in range(3):  # cuDNN picks its algorithms before capture
                loaded.model(static)
        torch.cuda.current_stream(self.device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            outputs = tuple(loaded.model(static))
        captured = _Graph(graph, static, outputs)
        loaded.graphs[tuple(inputs.shape)] = captured
        return captured

    def _finish(self, loaded: _Loaded, raw: list[torch.Tensor]) -> list[torch.Tensor]:
        if loaded.kind != "detections":
            return [r.float() if r.is_floating_point() else r for r in raw]
        assert loaded.anchors is not None
        anchors, per_level = loaded.anchors
        if loaded.architecture == "retinanet":
            return list(postprocess.retinanet_detections(raw[0], raw[1], anchors, per_level, 800))
        return list(postprocess.ssd_detections(raw[0], raw[1], anchors))

    def info(self) -> BackendInfo:
        loaded = self._require()
        name = torch.cuda.get_device_name(self.device) if self.device.type == "cuda" else "cpu"
        device = f"{self.device} ({name})" if self.device.type == "cuda" else "cpu"
        details = dict(loaded.details)
        details["graphs_captured"] = _graph_shapes(sorted(loaded.graphs))
        if self.device.type == "cuda":
            details["cuda"] = str(torch.version.cuda)
            details["cudnn"] = str(torch.backends.cudnn.version())
        return BackendInfo("pytorch", torch.__version__, device, self.precision, details)


def _graph_shapes(shapes: list[tuple[int, ...]]) -> str:
    """The captured batch sizes ("1,8"), or whole shapes ("1x3x640x480,...") where sample shapes differ."""
    if len({shape[1:] for shape in shapes}) <= 1:
        return ",".join(str(shape[0]) for shape in shapes)
    return ",".join("x".join(map(str, shape)) for shape in shapes)
