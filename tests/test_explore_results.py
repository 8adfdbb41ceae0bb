"""What a point measured (the record's headline, the detail log's percentiles) and the rule that picks a setting."""

from __future__ import annotations

import pytest

from harness.contract import Figures
from msb.explore.grid import Point
from msb.explore.results import FAILED, INVALID, REFUSED, VALID, PointResult, detail_values, measured, recommend

DETAIL = {
    "result_samples_per_second": 1086.94,
    "result_mean_latency_ns": 2_500_000,
    "result_50.00_percentile_latency_ns": 2_000_000,
    "result_90.00_percentile_latency_ns": 4_000_000,
    "result_99.00_percentile_latency_ns": 9_000_000,
}


def test_offline_throughput_is_the_records_and_percentiles_come_from_the_detail_log() -> None:
    figures = Figures("VALID", "Samples per second", 1100.5)
    result = measured(Point(8, 2), "Offline", figures, DETAIL, threads=2)
    assert result.status == VALID and result.threads == 2
    assert result.samples_per_second == 1100.5  # the record's figure, not the log's
    assert (result.mean_ms, result.p50_ms, result.p90_ms, result.p99_ms) == (2.5, 2.0, 4.0, 9.0)


def test_singlestream_p90_is_the_records_and_throughput_is_queries_per_second() -> None:
    detail = {**DETAIL, "result_qps_with_loadgen_overhead": 400.0}
    figures = Figures("INVALID", "90.0th percentile latency (ns)", 3_500_000)
    result = measured(Point(1), "SingleStream", figures, detail, threads=None)
    assert result.status == INVALID
    assert result.p90_ms == 3.5 and result.samples_per_second == 400.0


def test_multistream_throughput_counts_the_samples_of_each_query() -> None:
    detail = {**DETAIL, "result_qps_with_loadgen_overhead": 100.0, "effective_samples_per_query": 8}
    result = measured(Point(8), "MultiStream", Figures("VALID", "99.0th percentile latency (ns)", 1e7), detail, 2)
    assert result.samples_per_second == 800.0 and result.p99_ms == 10.0


def test_server_throughput_is_the_completed_rate() -> None:
    detail = {**DETAIL, "result_completed_samples_per_sec": 95.5}
    assert measured(Point(4), "Server", Figures("VALID", "", None), detail, 2).samples_per_second == 95.5


def test_missing_figures_stay_empty() -> None:
    result = measured(Point(4), "Offline", Figures("VALID", "", None), {}, None)
    assert result.samples_per_second is None and result.p99_ms is None


def test_detail_values_keep_the_first_of_each_key() -> None:
    records = [{"key": "a", "value": 1}, {"key": "a", "value": 2}, {"value": 3}, {"key": "b", "value": None}]
    assert detail_values(records) == {"a": 1, "b": None}


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
