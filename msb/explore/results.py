"""What one point of the grid measured, and the setting the grid recommends. Pure: figures in, figures out.

The headline figure is the record's (the harness read it from LoadGen's summary); the other figures come from the
detail log the record names, as LoadGen logs them (`result_*` keys)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from harness.contract import Figures
from msb.explore.grid import Point

# A point's status: LoadGen's verdict on a run that completed, or why there is none.
VALID, INVALID, REFUSED, FAILED = "VALID", "INVALID", "REFUSED", "FAILED"
PERCENTILES = ("p50", "p90", "p99")
_NS_PER_MS = 1e6
_THROUGHPUT_KEY = {"Offline": "result_samples_per_second", "Server": "result_completed_samples_per_sec"}
_HEADLINE_THROUGHPUT = {"Offline": "Samples per second", "Server": "Completed samples per second"}
_HEADLINE_LATENCY = {"SingleStream": ("p90", "90.0th percentile latency (ns)"),
                     "MultiStream": ("p99", "99.0th percentile latency (ns)")}  # fmt: skip


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


def measured(
    point: Point, scenario: str, figures: Figures, detail: Mapping[str, object], threads: int | None
) -> PointResult:
    """A completed run's figures: validity and the headline from the record, the rest from the detail log."""
    latencies = {p: _ns_to_ms(detail.get(f"result_{p[1:]}.00_percentile_latency_ns")) for p in PERCENTILES}
    throughput = _number(detail.get(_THROUGHPUT_KEY.get(scenario, "")))
    if scenario in _HEADLINE_LATENCY:
        # LoadGen logs queries per second for the latency scenarios; a MultiStream query holds several samples.
        qps = _number(detail.get("result_qps_with_loadgen_overhead"))
        per_query = _number(detail.get("effective_samples_per_query")) or 1.0
        throughput = None if qps is None else qps * per_query
    if figures.value is not None and figures.metric == _HEADLINE_THROUGHPUT.get(scenario):
        throughput = figures.value
    headline = _HEADLINE_LATENCY.get(scenario)
    if headline is not None and figures.value is not None and figures.metric == headline[1]:
        latencies[headline[0]] = figures.value / _NS_PER_MS
    return PointResult(
        point=point,
        status=VALID if figures.validity == VALID else INVALID,
        threads=threads,
        samples_per_second=throughput,
        mean_ms=_ns_to_ms(detail.get("result_mean_latency_ns")),
        p50_ms=latencies["p50"],
        p90_ms=latencies["p90"],
        p99_ms=latencies["p99"],
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


def detail_values(records: Sequence[Mapping[str, object]]) -> dict[str, object]:
    """The first value of each key in a detail log's records (LoadGen logs each result once)."""
    values: dict[str, object] = {}
    for record in records:
        key = record.get("key")
        if isinstance(key, str) and key not in values:
            values[key] = record.get("value")
    return values


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _ns_to_ms(value: object) -> float | None:
    number = _number(value)
    return None if number is None else number / _NS_PER_MS
