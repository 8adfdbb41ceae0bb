"""Our harness against MLCommons' reference harness on this machine's CPU: ResNet50 on ONNX Runtime, same threads.

    python speed/compare_cpu.py WORK --reference INFERENCE_CHECKOUT [--threads 2] [--batch 8]
        [--run-ms 20000] [--images 64] [--expected-qps 22] [--repeat 3] [--json speed/results/cpu-2core.json]

Both run in this interpreter's environment (the reference also needs OpenCV: put it on PYTHONPATH), on the same
ResNet50 v1.5 ONNX model with random weights (speed/ort_int8/export_resnet50.py; MLPerf's trained model
cannot be downloaded here) and the same synthetic ImageNet images, Offline at `--batch` and SingleStream:
ours as `python -m harness run --backend onnxruntime --threads N`, the reference as its `resnet50-onnxruntime`
profile with `--threads N` (its Python worker threads; its ONNX Runtime session keeps ONNX Runtime's default
intra-op threads, one per core); and, as the ceiling, the raw loop: ONNX Runtime alone running one batch over and
over with N intra-op threads. Runs are shortened and may be INVALID; the figures are what each sustains.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from speed.loadgen_figures import run_figures  # noqa: E402
from speed.reference_harness import ReferenceRun, run_main  # noqa: E402


def prepare(work: Path, images: int) -> tuple[Path, Path]:
    from msb.synthetic.imagenet import write_dataset

    dataset, model = work / "imagenet", work / "resnet50_random.onnx"
    if not (dataset / "val_map.txt").exists():
        write_dataset(dataset, images)
    if not model.exists():
        subprocess.run([sys.executable, str(REPO / "speed/ort_int8/export_resnet50.py"), str(model)],
                       check=True, env={**os.environ, "PYTHONPATH": str(REPO)})  # fmt: skip
    return dataset, model


def raw_loop(model: Path, scenario: str, args: argparse.Namespace) -> dict[str, float]:
    """The ceiling: ONNX Runtime alone on one batch in a loop, the same threads, no harness, no LoadGen."""
    import numpy as np
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = args.threads
    session = onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    batch = 1 if scenario == "SingleStream" else args.batch
    feed = {session.get_inputs()[0].name: np.random.default_rng(0).standard_normal((batch, 3, 224, 224), np.float32)}
    session.run(None, feed)
    times = []
    deadline = time.perf_counter() + args.run_ms / 2000  # half a run: the ceiling settles quickly
    while time.perf_counter() < deadline or len(times) < 5:
        start = time.perf_counter()
        session.run(None, feed)
        times.append(time.perf_counter() - start)
    if scenario == "SingleStream":
        return {"p90_ms": 1000 * sorted(times)[int(0.9 * len(times))]}
    return {"samples_per_s": batch * len(times) / sum(times)}


def ours(work: Path, dataset: Path, model: Path, scenario: str, args: argparse.Namespace) -> dict[str, Any]:
    out = work / "ours" / scenario
    batch = 1 if scenario == "SingleStream" else args.batch
    queries = args.min_queries if scenario == "SingleStream" else 1
    command = [
        sys.executable, "-m", "harness", "run", "--benchmark=resnet50", f"--scenario={scenario}",
        "--mode=performance", "--dataset", str(dataset), "--model", str(model), "--backend=onnxruntime",
        "--device=cpu", f"--threads={args.threads}", "--output", str(out), "--submitter=msb", "--system=cpu",
        "--cache-dir", str(work / "cache"), f"--batch-size={batch}", f"--min-duration-ms={args.run_ms}",
        f"--target-qps={args.expected_qps}", f"--min-query-count={queries}",
        f"--target-latency-ms={1000 / args.expected_qps:.0f}", "--allow-root",
    ]  # fmt: skip
    started = time.perf_counter()
    result = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)}
    )
    wall = time.perf_counter() - started
    if result.returncode != 0:
        return {"error": result.stderr[-2000:], "wall_s": wall}
    logs = next(out.rglob("performance/run_1/mlperf_log_summary.txt")).parent
    return {**run_figures(logs, scenario), "wall_s": wall, "command": " ".join(command[1:])}


def reference(work: Path, dataset: Path, model: Path, scenario: str, args: argparse.Namespace) -> dict[str, Any]:
    spec = ReferenceRun(
        profile="resnet50-onnxruntime", model_name="resnet50", backend="onnxruntime", model=model, dataset=dataset,
        scenario=scenario,
        batch=1 if scenario == "SingleStream" else args.batch, threads=args.threads, run_ms=args.run_ms,
        out=work / "reference" / "out" / scenario, qps=args.expected_qps,
        min_queries=args.min_queries if scenario == "SingleStream" else 1, performance_samples=args.images,
        env=(("USE_GPU", "no"),),  # its backend asks for CUDA whenever ONNX Runtime lists it
    )  # fmt: skip
    return run_main(args.reference, spec)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("work", type=Path)
    parser.add_argument("--reference", type=Path, required=True, help="a checkout of mlcommons/inference")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=8, help="Offline batch size, both harnesses")
    parser.add_argument("--run-ms", type=int, default=20000)
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--expected-qps", type=float, default=22.0)
    parser.add_argument("--min-queries", type=int, default=64, help="SingleStream queries at least")
    parser.add_argument("--scenarios", default="Offline,SingleStream")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of raw, ours, reference; medians reported")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    args.work = args.work.resolve()
    args.work.mkdir(parents=True, exist_ok=True)
    dataset, model = prepare(args.work, args.images)
    import onnxruntime

    report: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "versions": {"python": platform.python_version(), "onnxruntime": onnxruntime.__version__},
        "command": " ".join(sys.argv),
        "rows": [],
    }
    for scenario in args.scenarios.split(","):
        batch = 1 if scenario == "SingleStream" else args.batch
        row: dict[str, Any] = {"benchmark": "resnet50", "scenario": scenario, "precision": "fp32", "batch": batch,
                               "threads": args.threads}  # fmt: skip
        key = "p90_ms" if scenario == "SingleStream" else "samples_per_s"
        # This machine's cores are shared with other tenants (one run of the same thing moved by 40%): the three
        # run in turn, `--repeat` times, and the figures are the medians; every round is kept.
        rounds = []
        for _ in range(args.repeat):
            rounds.append({
                "raw": raw_loop(model, scenario, args),
                "ours": ours(args.work, dataset, model, scenario, args),
                "reference": reference(args.work, dataset, model, scenario, args),
            })  # fmt: skip
        row["rounds"] = rounds
        for who in ("raw", "ours", "reference"):
            values = [r[who][key] for r in rounds if key in r[who]]
            row[who] = {key: statistics.median(values), "all": values} if values else rounds[-1][who]
        our, theirs = row["ours"].get(key), row["reference"].get(key)
        if our and theirs:
            # Offline: ours / reference samples/s; SingleStream: reference p90 / ours (both "times as fast").
            row["speedup"] = our / theirs if key == "samples_per_s" else theirs / our
        if our and row["raw"].get(key):
            row["ours_over_raw"] = our / row["raw"][key]
        report["rows"].append(row)
        brief = {k: row[k] for k in ("raw", "ours", "reference")}
        print(scenario, brief, "speedup", row.get("speedup"), "ours/raw", row.get("ours_over_raw"), flush=True)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
