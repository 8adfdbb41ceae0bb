"""LoadGen's logs read back (harness/results/loadgen_logs.py): validity, the scenario metric, latencies."""

from __future__ import annotations

import json

from harness.contract import Figures
from harness.results.loadgen_logs import parse_summary, performance_figures


def test_summary_gives_validity_and_the_scenario_metric() -> None:
    text = (
        "Scenario : SingleStream\nMode     : PerformanceOnly\n90.0th percentile latency (ns) : 2500000\n"
        "Result is : VALID\n  Min duration satisfied : Yes\n"
    )
    result = parse_summary(text)
    assert (result.validity, result.value) == ("VALID", 2500000.0)
    assert result.describe() == "90.0th percentile latency: 2.500 ms"


def _detail_log(*records: tuple[str, object]) -> str:
    return "".join(f":::MLLOG {json.dumps({'key': k, 'value': v, 'metadata': {}})}\n" for k, v in records)


def test_multistream_latencies_are_per_query_and_what_loadgen_did_not_log_stays_empty() -> None:
    """Real runs: tests/harness/run/test_execute.py checks every scenario's figures against LoadGen's summary."""
    text = _detail_log(
        ("result_99.00_percentile_latency_ns", 1_000_000),
        ("result_99.00_percentile_per_query_latency_ns", 4_000_000),
        ("result_mean_latency_ns", 500_000),
        ("result_qps_with_loadgen_overhead", True),  # not a number
    )
    text += ':::MLLOG {"key": "result_90.00_percentile_latency_ns", "val'  # a line LoadGen cut off
    multi = performance_figures(text, "MultiStream")
    assert (multi.p99_ms, multi.mean_ms, multi.p90_ms, multi.qps_with_loadgen_overhead) == (4.0, 0.5, None, None)
    assert performance_figures(text, "Server").p99_ms == 1.0
    assert performance_figures("", "Offline") == Figures()
