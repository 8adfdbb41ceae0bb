"""Where the time of one PyTorch-backend batch goes on a CUDA GPU, outside LoadGen.

For each benchmark and batch size: assembling the batch on the host (np.stack of preprocessed samples, as the
harness's QSL does), the whole `backend.infer` call, the network alone (CUDA graph replay), device-side
detection postprocessing alone, and the benchmark's host postprocessing into LoadGen payloads. Random weights,
random inputs. Usage: python speed/profile_pytorch_gpu.py WORKDIR [PRECISION]
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from harness.backends.pytorch.backend import PyTorchBackend
from harness.backends.pytorch.options import PyTorchOptions
from harness.benchmarks.registry import get_benchmark

CASES: tuple[tuple[str, int, str | None], ...] = (
    ("resnet50", 256, None),
    ("resnet50", 1, None),
    ("retinanet", 16, None),
    ("retinanet", 1, None),
    ("ssd-resnet34", 16, None),
    ("ssd-resnet34", 1, None),
    ("resnet50", 256, "default"),  # torch.compile (inductor), still replayed as a CUDA graph
)


def mean_ms(step: Callable[[], object], repeats: int, sync: bool = False) -> float:
    start = time.perf_counter()
    for _ in range(repeats):
        step()
        if sync:
            torch.cuda.synchronize()
    return 1000 * (time.perf_counter() - start) / repeats


def profile(work: Path, name: str, batch_size: int, precision: str, compile_mode: str | None) -> str:
    benchmark = get_benchmark(name)
    spec = work / f"{name}.random.json"
    spec.write_text(json.dumps({"architecture": name, "weights": None, "seed": 0}))
    backend = PyTorchBackend(
        benchmark=name,
        device="cuda",
        precision=precision,
        output_names=benchmark.output_names,
        options=PyTorchOptions(compile_mode=compile_mode),
    )
    backend.load(spec)
    rng = np.random.default_rng(0)
    samples = [rng.random(benchmark.input_shape, dtype=np.float32) for _ in range(batch_size)]
    batch = np.stack(samples)
    backend.warmup(batch)
    repeats = max(5, 2000 // batch_size) if name == "resnet50" else max(5, 200 // batch_size)
    stack = mean_ms(lambda: np.stack(samples), repeats)
    infer = mean_ms(lambda: backend.infer(batch), repeats)
    loaded = backend._require()
    graph = loaded.graphs[tuple(batch.shape)]  # graphs are keyed by input shape
    network = mean_ms(graph.graph.replay, repeats, sync=True)
    device_post = 0.0
    if loaded.kind == "detections":
        raw = [o[:batch_size] for o in graph.outputs]
        device_post = mean_ms(lambda: backend._finish(loaded, raw), repeats, sync=True)
    outputs = backend.infer(batch)
    indices = list(range(batch_size))
    host_post = mean_ms(lambda: benchmark.postprocess(outputs, indices), repeats)
    per_sample = stack + infer + host_post
    label = " (compiled)" if compile_mode else ""
    return (
        f"| {name}{label} | {batch_size} | {stack:.2f} | {infer:.2f} | {network:.2f} | {device_post:.2f} | "
        f"{host_post:.2f} | {1000 * batch_size / network:,.0f} | {1000 * batch_size / per_sample:,.0f} |"
    )


def main() -> int:
    work = Path(sys.argv[1])
    precision = sys.argv[2] if len(sys.argv) > 2 else "fp16"
    work.mkdir(parents=True, exist_ok=True)
    print(f"GPU: {torch.cuda.get_device_name()}, torch {torch.__version__}, precision {precision}")
    print(
        "| benchmark | batch | host np.stack ms | backend.infer ms | network (graph replay) ms | "
        "device postprocess ms | host postprocess ms | network-only samples/s | stack+infer+post samples/s |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, batch_size, compile_mode in CASES:
        try:
            print(profile(work, name, batch_size, precision, compile_mode), flush=True)
        except Exception as error:  # one failing case (e.g. the compiler) must not hide the others
            print(f"| {name} | {batch_size} | failed: {type(error).__name__}: {error} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
