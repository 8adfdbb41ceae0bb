"""Where a batch-1 (SingleStream) query's time goes on the GPU, part by part, in one process.

    python speed/profile_launch.py [--compile-mode default] [--iterations 3000] [--json OUT]

ResNet50, fp16, channels_last, random weights, the samples resident as in our harness. Each line is the p50/p90
of `--iterations` timed repetitions of one way to run a batch of one, from the bare graph replay to our worker's
whole launch path, and the Python pieces on their own. The differences between lines are the cost of each part;
LoadGen's own share (its callback into Python and QuerySamplesComplete) is the SingleStream p90 of
compare_harnesses.py minus the last line here.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from harness.backends.pytorch.backend import PyTorchBackend  # noqa: E402
from harness.backends.pytorch.options import PyTorchOptions  # noqa: E402
from harness.benchmarks.resnet50 import ResNet50  # noqa: E402


def timed(step: Callable[[], object], iterations: int) -> dict[str, float]:
    for _ in range(50):
        step()
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    times.sort()
    return {"p50_us": 1e6 * times[len(times) // 2], "p90_us": 1e6 * times[int(0.9 * len(times))]}


def _enter_and_leave(stream: torch.cuda.Stream) -> None:
    with torch.cuda.stream(stream):
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--compile-mode", default="default")
    parser.add_argument("--iterations", type=int, default=3000)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--work", type=Path, default=Path("/tmp/profile-launch"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    model = args.work / "resnet50.json"
    model.write_text(json.dumps({"architecture": "resnet50", "weights": None, "seed": 0}))
    options = PyTorchOptions(compile_mode=args.compile_mode, streams=1)
    backend = PyTorchBackend(benchmark="resnet50", device="cuda", precision="fp16", options=options)
    backend.load(model)
    (worker,) = backend.resident_workers(ResNet50.compact_form, (3, 224, 224), 1) or []
    samples = np.random.default_rng(0).integers(0, 256, (1024, 3, 224, 224)).astype(np.uint8)
    worker.store(np.arange(1024), samples)
    device = worker.device
    lane = worker._lanes[0]
    network, stream = worker._network, lane.stream
    assert stream is not None and lane.event is not None
    index = lane.index_dev[:1]
    pinned_out = torch.empty(1, dtype=torch.int64, pin_memory=True)

    with torch.inference_mode():
        bare = torch.cuda.CUDAGraph()
        with torch.cuda.graph(bare):
            bare_out = network(index)

    def graph_only() -> None:
        bare.replay()
        torch.cuda.synchronize(device)

    def separate_copies() -> None:
        with torch.inference_mode():
            index.copy_(lane.index_host[:1], non_blocking=True)
            bare.replay()
            pinned_out.copy_(bare_out[0], non_blocking=True)
        torch.cuda.synchronize(device)

    ours = lane.graphs[1].graph

    def captured_copies() -> None:
        with torch.cuda.stream(stream):
            ours.replay()
        lane.event.record(stream)
        lane.event.synchronize()

    def set_stream_replay() -> None:
        torch.cuda.set_stream(stream)
        ours.replay()
        lane.event.record(stream)
        lane.event.synchronize()

    slots = np.array([5])
    steps: dict[str, Callable[[], object]] = {
        "graph replay + synchronize (network only)": graph_only,
        "index copy, replay, copy back as three launches + synchronize": separate_copies,
        "one replay with both copies captured, on the lane's stream, event wait": captured_copies,
        "the same, the lane's stream made current with set_stream": set_stream_replay,
        "our worker's launch(slots).result() (the whole launch path)": lambda: worker.launch(slots).result(),
        "Python: `with torch.cuda.stream(lane.stream)` alone": lambda: _enter_and_leave(stream),
        "Python: event record + synchronize on an idle stream": lambda: (
            lane.event.record(stream),  # type: ignore[union-attr]
            lane.event.synchronize(),  # type: ignore[union-attr]
        ),
        "Python: index write into the pinned NumPy view": lambda: lane.index_np.__setitem__(slice(0, 1), slots),
    }
    rows = []
    for name, step in steps.items():
        figures = timed(step, args.iterations)
        rows.append({"what": name, **figures})
        print(f"{figures['p50_us']:8.1f} {figures['p90_us']:8.1f}  {name}", flush=True)
    if args.json:
        report = {"gpu": torch.cuda.get_device_name(), "torch": torch.__version__, "command": " ".join(sys.argv)}
        args.json.write_text(json.dumps({**report, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
