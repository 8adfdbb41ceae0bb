"""What a point measured (every figure the record's) and the rule that picks a setting."""

from __future__ import annotations

import pytest

from harness.contract import Figures
from msb.explore.grid import Point
from msb.explore.results import FAILED, INVALID, REFUSED, VALID, PointResult, measured, recommend

LATENCIES = {"mean_ms": 2.5, "p50_ms": 2.0, "p90_ms": 4.0, "p95_ms": 5.0, "p99_ms": 9.0, "p99_9_ms": 12.0}


def test_offline_figures_are_the_records() -> None:
    figures = Figures("VALID", "Samples per second", 1100.5, samples_per_second=1100.5, **LATENCIES)
    result = measured(Point(8, 2), figures, threads=2)
    assert result.status == VALID and result.threads == 2
    assert result.samples_per_second == 1100.5
    assert (result.mean_ms, result.p50_ms, result.p90_ms, result.p99_ms) == (2.5, 2.0, 4.0, 9.0)


def test_singlestream_throughput_is_queries_per_second_with_loadgens_overhead() -> None:
    figures = Figures("INVALID", "90.0th percentile latency (ns)", 4e6, qps_with_loadgen_overhead=400.0,
                      qps_without_loadgen_overhead=420.0, **LATENCIES)  # fmt: skip
    result = measured(Point(1), figures, threads=None)
    assert result.status == INVALID
    assert result.p90_ms == 4.0 and result.samples_per_second == 400.0


def test_server_throughput_is_the_completed_rate_and_multistream_has_none() -> None:
    server = Figures("VALID", "Completed samples per second", 95.5, samples_per_second=95.5,
                     scheduled_samples_per_second=100.0)  # fmt: skip
    assert measured(Point(4), server, 2).samples_per_second == 95.5
    multi = measured(Point(8), Figures("VALID", "99.0th percentile latency (ns)", 9e6, **LATENCIES), 2)
    assert multi.samples_per_second is None and multi.p99_ms == 9.0


def test_a_record_without_performance_figures_leaves_them_empty() -> None:
    result = measured(Point(4), Figures("VALID", "Samples per second", 10.0), None)
    assert result.samples_per_second is None and result.p99_ms is None


def point(
    batch: int, status: str, throughput: float | None = None, p90: float | None = None, threads: int = 2
) -> PointResult:
    return PointResult(Point(batch, threads), status, threads, throughput, p90_ms=p90, p99_ms=p90)


def test_offline_recommends_the_highest_valid_throughput() -> None:
    results = [point(1, VALID, 500), point(8, VALID, 900), point(32, INVALID, 5000), point(64, REFUSED)]
    rec = recommend("Offline", results)
    assert rec is not None and rec.result.point == Point(8, 2) and rec.value == 900


def test_latency_scenarios_recommend_the_lowest_valid_percentile() -> None:
    results = [point(1, VALID, p90=0.4), point(8, VALID, p90=0.3), point(32, INVALID, p90=0.1)]
    rec = recommend("SingleStream", results)
    assert rec is not None and rec.result.point.batch_size == 8 and rec.rule.figure == "p90_ms"
    multi = recommend("MultiStream", results)
    assert multi is not None and multi.rule.figure == "p99_ms"


def test_ties_go_to_the_smaller_batch_then_fewer_threads() -> None:
    results = [point(32, VALID, 900, threads=2), point(8, VALID, 900, threads=4), point(8, VALID, 900, threads=2)]
    rec = recommend("Server", results)
    assert rec is not None and rec.result.point == Point(8, 2)


@pytest.mark.parametrize("statuses", [[INVALID, INVALID], [REFUSED, FAILED], []])
def test_no_valid_point_recommends_nothing(statuses: list[str]) -> None:
    assert recommend("Offline", [point(2**i, s, 100) for i, s in enumerate(statuses)]) is None
