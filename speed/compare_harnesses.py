"""Raw loop against our harness (and MLCommons' reference harness) on one machine, in one command.

    python speed/compare_harnesses.py WORKDIR [--precision fp16] [--compile-mode MODE] [--run-ms 10000]
        [--cases resnet50:Offline:256[:COMPILE[:QPS[:STREAMS]]],...] [--streams N] [--again] [--scaling]
        [--json speed/results/GPU.json] [--reference INFERENCE_CHECKOUT [--reference-threads 16]]

For each case (benchmark, scenario, batch): (a) the raw loop: the same PyTorch model, precision, batch, compile
and CUDA-graph settings, inputs gathered and expanded from samples resident on the GPU, on-device
postprocessing, results copied back; no LoadGen, no threads; (b) our harness: `python -m harness run` with real
LoadGen, performance mode, the same settings, random weights and synthetic images, on every visible GPU (one
worker each); (c) with --reference, MLCommons' reference harness from that checkout of mlcommons/inference, for
the ResNet50 and RetinaNet cases (speed/reference_harness.py: what it is given, and why not SSD-ResNet34).
Figures: samples/s (Offline, Server) or the p90 latency in ms (SingleStream), ours / raw, ours / reference,
Server / Offline;
with --scaling on a host of N GPUs, each Offline and Server case also runs on one GPU (Server at 1/N of the QPS)
for the scaling efficiency N-GPU / (N x 1-GPU). `--again` reruns compiled cases: the second finds the compile
cache. LoadGen runs are shortened (--run-ms), so LoadGen may call them INVALID; the figures are what the harness
sustains, not MLPerf results.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from harness.backends.pytorch.backend import PyTorchBackend  # noqa: E402
from harness.backends.pytorch.options import PyTorchOptions  # noqa: E402
from harness.benchmarks.base import compact_form_of  # noqa: E402
from harness.benchmarks.registry import get_benchmark  # noqa: E402
from speed import reference_harness  # noqa: E402
from speed.loadgen_figures import run_figures  # noqa: E402

DEFAULT_CASES = (
    "resnet50:Offline:256,resnet50:SingleStream:1,resnet50:Server:128,retinanet:Offline:16,ssd-resnet34:Offline:16"
)
STORE_SAMPLES = {"resnet50": 1024, "retinanet": 64, "ssd-resnet34": 64}
TARGET_QPS = {"resnet50": 40000, "retinanet": 600, "ssd-resnet34": 900}


def datasets(work: Path) -> dict[str, Path]:
    from msb.synthetic.detection import write_dataset as detection
    from msb.synthetic.imagenet import write_dataset as imagenet

    paths = {"resnet50": work / "imagenet", "retinanet": work / "retinanet", "ssd-resnet34": work / "ssd"}
    if not (paths["resnet50"] / "val_map.txt").exists():
        imagenet(paths["resnet50"], STORE_SAMPLES["resnet50"])
    for name in ("retinanet", "ssd-resnet34"):
        if not paths[name].exists():
            detection(paths[name], name, STORE_SAMPLES[name])  # type: ignore[arg-type]
    for name in paths:
        (work / f"{name}.random.json").write_text(json.dumps({"architecture": name, "weights": None, "seed": 0}))
    return paths


def raw_loop(
    work: Path, name: str, scenario: str, batch: int, compile_mode: str | None, args: argparse.Namespace
) -> dict[str, float]:
    """The same model and settings in a plain loop over device-resident samples."""
    benchmark = get_benchmark(name)
    options = PyTorchOptions(compile_mode=compile_mode, cuda_graphs=not args.no_graphs, streams=1)
    backend = PyTorchBackend(benchmark=name, device="cuda", precision=args.precision,
                             output_names=benchmark.output_names, options=options)  # fmt: skip
    backend.load(work / f"{name}.random.json")
    started = time.perf_counter()
    (worker,) = backend.resident_workers(compact_form_of(benchmark), benchmark.input_shape, batch) or []
    warm_s = time.perf_counter() - started
    count = STORE_SAMPLES[name]
    form = compact_form_of(benchmark)
    dtype = np.dtype(form.dtype) if form else np.float32
    rng = np.random.default_rng(0)
    samples = rng.integers(0, 256, (count, *benchmark.input_shape)).astype(dtype)
    worker.store(np.arange(count), samples)
    device = worker.device
    index = torch.from_numpy(rng.integers(0, count, batch)).to(device)
    # The raw loop's own graph of gather -> expand -> network (-> argmax), as a person would write it; the copy
    # back and detection's NMS outside it. It shares only the model and the sample store with our worker.
    network = worker._network
    finish = worker._finish
    in_graph = worker._finish_in_graph
    with torch.inference_mode():
        for _ in range(3):
            network(index)
        torch.cuda.synchronize(device)
        graph = torch.cuda.CUDAGraph() if not args.no_graphs else None
        if graph is not None:
            with torch.cuda.graph(graph):
                captured = network(index)

    def step() -> list[torch.Tensor]:
        if graph is not None:
            graph.replay()
            raw = captured
        else:
            raw = network(index)
        outputs = raw if in_graph else finish(raw)
        return [o.to("cpu", non_blocking=True) for o in outputs]

    with torch.inference_mode():
        for _ in range(5):
            step()
        torch.cuda.synchronize(device)
        if scenario == "SingleStream":
            latencies = []
            for _ in range(2000):
                start = time.perf_counter()
                step()
                torch.cuda.synchronize(device)
                latencies.append(time.perf_counter() - start)
            latencies.sort()
            # Our launch path alone (no LoadGen): lane, index copy, replay, copy back, wait, as the SUT does it.
            pipeline = []
            slots = np.array([0])
            for _ in range(2000):
                start = time.perf_counter()
                worker.launch(slots).result()
                pipeline.append(time.perf_counter() - start)
            pipeline.sort()
            figures = {"p90_ms": 1000 * latencies[int(0.9 * len(latencies))], "warmup_s": warm_s,
                       "launch_path_p90_ms": 1000 * pipeline[int(0.9 * len(pipeline))]}  # fmt: skip
            if graph is not None and in_graph:
                figures["raw_copy_in_graph_p90_ms"] = _copy_in_graph_p90(network, index, device)
            return figures
        iterations = max(20, int(args.raw_samples // batch))
        start = time.perf_counter()
        for _ in range(iterations):
            step()
        torch.cuda.synchronize(device)
        elapsed = time.perf_counter() - start
    return {"samples_per_s": iterations * batch / elapsed, "warmup_s": warm_s,
            "store_bytes": float(worker.device_bytes())}  # fmt: skip


def _copy_in_graph_p90(network: Any, index: torch.Tensor, device: torch.device) -> float:
    """The raw loop at its tightest: the copy back to pinned memory captured in the graph too (as our launch)."""
    with torch.inference_mode():
        pinned = [torch.empty(o.shape, dtype=o.dtype, pin_memory=True) for o in network(index)]
        torch.cuda.synchronize(device)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            for host, out in zip(pinned, network(index), strict=True):
                host.copy_(out, non_blocking=True)
        latencies = []
        for _ in range(2000):
            start = time.perf_counter()
            graph.replay()
            torch.cuda.synchronize(device)
            latencies.append(time.perf_counter() - start)
    latencies.sort()
    return 1000 * latencies[int(0.9 * len(latencies))]


def ours(
    work: Path,
    data: Path,
    name: str,
    scenario: str,
    batch: int,
    compile_mode: str | None,
    args: argparse.Namespace,
    attempt: int = 1,
    qps: float | None = None,
    streams: int | None = None,
    gpus: int | None = None,
) -> dict[str, Any]:
    """Our harness on `gpus` GPUs (the first ones visible; None: all), one worker per GPU."""
    tag = f"{compile_mode or 'eager'}-{qps or ''}-{streams or ''}-{gpus or 'all'}-{attempt}"
    out = work / "out" / f"{name}-{scenario}-{batch}-{tag}"
    command = [
        sys.executable, "-m", "harness", "run", f"--benchmark={name}", f"--scenario={scenario}",
        "--mode=performance", "--dataset", str(data / "dataset" if (data / "dataset").exists() else data),
        "--model", str(work / f"{name}.random.json"), "--backend=pytorch", "--device=cuda",
        f"--precision={args.precision}", "--output", str(out), "--submitter=msb", "--system=gpu",
        "--cache-dir", str(work / "cache"), f"--batch-size={batch}", f"--min-duration-ms={args.run_ms}",
        "--allow-root", "--backend-option", f"streams={streams or (1 if scenario == 'SingleStream' else args.streams)}",
    ]  # fmt: skip
    if compile_mode:
        command += ["--backend-option", f'compile_mode="{compile_mode}"']
    if args.no_graphs:
        command += ["--backend-option", "cuda_graphs=false"]
    if scenario == "Offline":
        command += [f"--target-qps={TARGET_QPS[name]}", "--min-query-count=1"]
    elif scenario == "Server":
        command += [f"--target-qps={qps or args.server_qps}",
                    "--backend-option", f"max_batch_wait_ms={args.server_wait_ms}",
                    "--backend-option", f"batch_sizes={args.server_sizes}"]  # fmt: skip
    else:
        command += ["--target-latency-ms=1", "--min-query-count=1024"]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, env=_harness_env(gpus))
    wall = time.perf_counter() - started
    if result.returncode != 0:
        return {"error": result.stderr[-2000:], "wall_s": wall}
    logs = next(out.rglob("performance/run_1/mlperf_log_summary.txt")).parent
    figures: dict[str, Any] = {"wall_s": wall, "command": " ".join(command[1:]), **run_figures(logs, scenario)}
    figures["details"] = {
        k: v for k, v in re.findall(r"^- (\w+): (.*)$", next(out.rglob("README.md")).read_text(), re.M)
    }
    return figures


def _harness_env(gpus: int | None = None) -> dict[str, str]:
    """The harness keeps its compiled kernels in the experiment's cache: not in a folder this process names.
    With `gpus`, it sees only the first `gpus` of the GPUs visible here."""
    env = {k: v for k, v in os.environ.items() if k not in ("TORCHINDUCTOR_CACHE_DIR", "TRITON_CACHE_DIR")}
    if gpus is not None:
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        ids = visible.split(",") if visible else [str(n) for n in range(torch.cuda.device_count())]
        env["CUDA_VISIBLE_DEVICES"] = ",".join(ids[:gpus])
    return {**env, "PYTHONPATH": str(REPO)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("work", type=Path)
    parser.add_argument("--precision", default="fp16")
    parser.add_argument("--compile-mode", default=None)
    parser.add_argument("--no-graphs", action="store_true")
    parser.add_argument("--streams", type=int, default=2)
    parser.add_argument("--run-ms", type=int, default=10000)
    parser.add_argument("--raw-samples", type=float, default=200000)
    parser.add_argument("--server-qps", type=float, default=20000)
    parser.add_argument("--server-wait-ms", type=float, default=2.0)
    parser.add_argument("--server-sizes", default="[16,32,64]", help="Server: smaller batch sizes, as JSON")
    parser.add_argument("--cases", default=DEFAULT_CASES)
    parser.add_argument("--again", action="store_true", help="run each compiled case twice (the compile cache)")
    parser.add_argument(
        "--scaling", action="store_true", help="also run each Offline/Server case on one GPU: scaling efficiency"
    )
    parser.add_argument("--json", type=Path)
    parser.add_argument("--reference", type=Path, help="a checkout of mlcommons/inference: its harness, ResNet50")
    parser.add_argument("--reference-threads", type=int, default=16, help="the reference's worker threads")
    args = parser.parse_args()
    if args.reference:
        reference_harness.check_checkout(args.reference)
    args.work.mkdir(parents=True, exist_ok=True)
    data = datasets(args.work)
    report = {
        "gpu": torch.cuda.get_device_name(),
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "cuda": torch.version.cuda,
            "cudnn": torch.backends.cudnn.version(),
        },
        "command": " ".join(sys.argv),
    }
    rows: list[dict[str, Any]] = []
    offline: dict[str, float] = {}
    for case in args.cases.split(","):
        name, scenario, batch_text, *rest = case.split(":")
        batch, compile_mode = int(batch_text), (rest[0] if rest and rest[0] != "eager" else args.compile_mode)
        qps = float(rest[1]) if len(rest) > 1 and rest[1] else None
        streams = int(rest[2]) if len(rest) > 2 else None
        row: dict[str, Any] = {"benchmark": name, "scenario": scenario, "precision": args.precision, "batch": batch,
                               "compile_mode": compile_mode, "cuda_graphs": not args.no_graphs}  # fmt: skip
        if scenario != "Server":
            try:
                row["raw"] = raw_loop(args.work, name, scenario, batch, compile_mode, args)
            except Exception as error:  # one failing case must not hide the others
                row["raw"] = {"error": f"{type(error).__name__}: {error}"}
            torch.cuda.empty_cache()
        row["ours"] = ours(args.work, data[name], name, scenario, batch, compile_mode, args, qps=qps, streams=streams)
        # Not Server: the reference answers each Server query with an inference of its own (no batching), so
        # at our QPS it would only queue; its own Server figure needs a search of its own.
        if args.reference and name in reference_harness.WIRED and scenario != "Server":
            row["reference"] = reference_harness.run(
                args.reference, args.work, name, data[name], scenario, batch, args.precision, args.run_ms,
                args.reference_threads, STORE_SAMPLES[name], qps=qps,
            )  # fmt: skip
        gpu_count = torch.cuda.device_count()
        if args.scaling and gpu_count > 1 and scenario != "SingleStream":
            # Scaling efficiency: N GPUs against N times one GPU of the same host.
            one = ours(args.work, data[name], name, scenario, batch, compile_mode, args, qps=qps and qps / gpu_count,
                       streams=streams, gpus=1)  # fmt: skip
            row["ours_one_gpu"] = one
            key_n = "completed_qps" if scenario == "Server" else "samples_per_s"
            if one.get(key_n) and row["ours"].get(key_n):
                row["scaling_efficiency"] = row["ours"][key_n] / (gpu_count * one[key_n])
                row["gpus"] = gpu_count
        if compile_mode and args.again:  # the compile cache: a second run of the same settings
            row["ours_again"] = ours(args.work, data[name], name, scenario, batch, compile_mode, args, attempt=2)
        key = {"SingleStream": "p90_ms", "Server": "completed_qps"}.get(scenario, "samples_per_s")
        raw, our = row.get("raw", {}).get(key), row["ours"].get(key)
        if raw and our:
            row["ours_over_raw"] = our / raw  # throughput: higher is better; p90 latency: lower is
        reference = row.get("reference", {}).get(key)
        if reference and our:
            row["ours_over_reference"] = our / reference  # as ours_over_raw: p90 latency lower is better
        if scenario == "Offline" and our:
            offline[name] = our
        if scenario == "Server" and row["ours"].get("completed_qps") and name in offline:
            row["server_over_offline"] = row["ours"]["completed_qps"] / offline[name]
        rows.append(row)
        brief = {k: v for k, v in row["ours"].items() if k not in ("details", "command")}
        ratios = {k: v for k, v in row.items() if "over" in k or k == "scaling_efficiency"}
        print(case, "raw", row.get("raw"), "ours", brief, "reference", row.get("reference"), ratios, flush=True)
        if args.json:  # after every case: a later one running out of time loses nothing
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps({**report, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
