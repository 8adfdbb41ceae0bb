"""What one point of the grid measured, and the setting the grid recommends. Pure: figures in, figures out.

Every figure is the run's record's: the harness read validity and headline from LoadGen's summary, latencies and
rates from its detail log (harness.records.performance_figures); explore parses no LoadGen log."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.contract import Figures
from msb.explore.grid import Point

# A point's status: LoadGen's verdict on a run that completed, or why there is none.
VALID, INVALID, REFUSED, FAILED = "VALID", "INVALID", "REFUSED", "FAILED"
PERCENTILES = ("p50", "p90", "p99")


@dataclass(frozen=True)
class PointResult:
    point: Point
    status: str  # VALID, INVALID, REFUSED, FAILED
    threads: int | None = None  # the thread count the run used (the description's where the grid has none)
    samples_per_second: float | None = None
    mean_ms: float | None = None
    p50_ms: float | None = None
    p90_ms: float | None = None
    p99_ms: float | None = None
    message: str = ""  # why a point was refused or failed
    experiment: str = ""  # the point's experiment folder, relative to the exploration's
    manifest: str = ""  # its manifest, relative to the exploration's folder

    def latency_ms(self, percentile: str) -> float | None:
        value: float | None = getattr(self, f"{percentile}_ms")
        return value


@dataclass(frozen=True)
class Rule:
    figure: str  # a PointResult field
    best: str  # "highest" or "lowest"
    text: str  # how the summary states it


RULES = {
    "Offline": Rule("samples_per_second", "highest", "the highest throughput (samples/s), LoadGen's Offline metric"),
    "Server": Rule(
        "samples_per_second",
        "highest",
        "the highest completed throughput (samples/s) among points that kept the latency bound (VALID), as find-peak"
        " judges Server",
    ),
    "SingleStream": Rule("p90_ms", "lowest", "the lowest 90th percentile latency, LoadGen's SingleStream metric"),
    "MultiStream": Rule("p99_ms", "lowest", "the lowest 99th percentile latency, LoadGen's MultiStream metric"),
}
TIE_RULE = "ties go to the smaller batch size, then to fewer threads"


@dataclass(frozen=True)
class Recommendation:
    result: PointResult
    rule: Rule

    @property
    def value(self) -> float:
        value: float = getattr(self.result, self.rule.figure)  # never None: `recommend` picks only points with it
        return float(value)


def measured(point: Point, figures: Figures, threads: int | None) -> PointResult:
    """A completed run's figures, from its record. Throughput is samples/s (Offline; Server's completed rate) or, for
    SingleStream, LoadGen's queries per second (one sample a query); LoadGen logs none for MultiStream."""
    throughput = figures.samples_per_second
    if throughput is None:
        throughput = figures.qps_with_loadgen_overhead
    return PointResult(
        point=point,
        status=VALID if figures.validity == VALID else INVALID,
        threads=threads,
        samples_per_second=throughput,
        mean_ms=figures.mean_ms,
        p50_ms=figures.p50_ms,
        p90_ms=figures.p90_ms,
        p99_ms=figures.p99_ms,
    )


def recommend(scenario: str, results: Sequence[PointResult]) -> Recommendation | None:
    """The VALID point the scenario's rule prefers; None when no point is VALID (or none has the rule's figure)."""
    rule = RULES[scenario]
    candidates = [r for r in results if r.status == VALID and getattr(r, rule.figure) is not None]
    if not candidates:
        return None
    sign = -1.0 if rule.best == "highest" else 1.0

    def key(result: PointResult) -> tuple[float, int, int]:
        return (sign * getattr(result, rule.figure), result.point.batch_size, result.threads or 0)

    return Recommendation(min(candidates, key=key), rule)
