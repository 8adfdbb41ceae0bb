"""What a SingleStream query costs on the issue and completion paths alone: a bare SUT against our pipelined SUT.

    python speed/sut_overhead.py [--queries 20000] [--rounds 3] [--json OUT]

Both run under real LoadGen on this machine's CPU and answer at once: the bare SUT completes each sample from the
issue callback with a fixed 4-byte payload; ours is `harness.loadgen.pipeline.PipelinedSUT` over a `ResidentLibrary`
with a null device worker (its launch returns a label at once), so everything it does per query but the device work is
timed: slot lookup, lane bookkeeping, payload rows, the response list. LoadGen's SingleStream latencies are then
LoadGen's own path plus the Python binding (bare) and plus our SUT (ours); the difference is what our SUT adds to
every query on the GPU, where the network takes about 0.45 ms (speed/results/nvidia-h200.md).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import mlperf_loadgen as lg
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from harness.benchmarks.registry import get_benchmark  # noqa: E402
from harness.loadgen.pipeline import PipelinedSUT  # noqa: E402
from harness.loadgen.resident import ResidentLibrary  # noqa: E402
from speed.loadgen_figures import run_figures  # noqa: E402

SAMPLES = 64


class _Done:
    def __init__(self, labels: np.ndarray, count: int) -> None:
        self._labels, self._count = labels, count

    def result(self) -> list[np.ndarray]:
        # As the CUDA worker: the batch's rows copied out of the lane's pinned buffer.
        return [self._labels[: self._count].copy()]


class NullWorker:
    """A device worker without a device: stores nothing, answers every launch at once."""

    name = "null-0"

    def __init__(self) -> None:
        self._labels = np.ones(SAMPLES, dtype=np.int64)  # ResNet50's answer: one label a sample

    def store(self, slots: np.ndarray, samples: np.ndarray) -> None:
        pass

    def launch(self, slots: np.ndarray) -> _Done:
        return _Done(self._labels, len(slots))

    def device_bytes(self) -> int:
        return 0


def run_loadgen(issue: Any, flush: Any, load: Any, unload: Any, queries: int, out: Path) -> dict[str, Any]:
    settings = lg.TestSettings()
    settings.scenario = lg.TestScenario.SingleStream
    settings.mode = lg.TestMode.PerformanceOnly
    settings.single_stream_expected_latency_ns = 20_000
    settings.min_query_count = queries
    settings.max_query_count = queries
    settings.min_duration_ms = 0
    log = lg.LogSettings()
    out.mkdir(parents=True, exist_ok=True)
    log.log_output.outdir = str(out)
    log.log_output.copy_summary_to_stdout = False
    sut = lg.ConstructSUT(issue, flush)
    qsl = lg.ConstructQSL(SAMPLES, SAMPLES, load, unload)
    try:
        lg.StartTestWithLogSettings(sut, qsl, settings, log)
    finally:
        lg.DestroyQSL(qsl)
        lg.DestroySUT(sut)
    return run_figures(out, "SingleStream")


def bare(queries: int, out: Path) -> dict[str, Any]:
    payload = np.ones(1, dtype=np.float32)

    def issue(samples: list[lg.QuerySample]) -> None:
        lg.QuerySamplesComplete([lg.QuerySampleResponse(s.id, payload.ctypes.data, 4) for s in samples])

    return run_loadgen(issue, lambda: None, lambda _: None, lambda _: None, queries, out)


def ours(queries: int, out: Path, entries: list[Path]) -> dict[str, Any]:
    library = ResidentLibrary(entries, SAMPLES, [NullWorker()])
    sut = PipelinedSUT(library, get_benchmark("resnet50"), batch_size=1)
    sut.start()
    try:
        return run_loadgen(sut.issue_query, sut.flush_queries, library.load, library.unload, queries, out)
    finally:
        sut.stop()
        sut.raise_if_failed()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        entries = []
        for n in range(SAMPLES):  # real cache entries: the library reads each once, as in a run
            entries.append(work / f"{n}.npy")
            np.save(entries[-1], np.full((3, 2, 2), n, dtype=np.uint8))
        rounds = []
        for n in range(args.rounds):  # in turn, so a slow moment of a shared machine hits both alike
            rounds.append({"bare": bare(args.queries, work / f"bare-{n}"),
                           "ours": ours(args.queries, work / f"ours-{n}", entries)})  # fmt: skip
    report: dict[str, Any] = {"command": " ".join(sys.argv), "queries": args.queries, "rounds": rounds}
    for who in ("bare", "ours"):
        for key in ("p50_ms", "p90_ms", "p99_ms"):
            report[f"{who}_{key[:-3]}_us"] = 1000 * statistics.median(r[who][key] for r in rounds)
    report["ours_minus_bare_p90_us"] = report["ours_p90_us"] - report["bare_p90_us"]
    print({k: round(v, 1) for k, v in report.items() if k.endswith("_us")})
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
