"""`build.py report`: one row per result, the scenario's metric and LoadGen's verdict."""

from __future__ import annotations

from pathlib import Path

from msb.submission.report import collect_rows, summary_figure

OFFLINE = "Scenario : Offline\nSamples per second: 7046.65\nResult is : VALID\n"
SINGLE = "Scenario : SingleStream\n90.0th percentile latency (ns) : 111957\nResult is : INVALID\n"


def test_scenario_metric_and_validity_are_read_from_the_summary() -> None:
    assert summary_figure(OFFLINE, "Offline") == ("7,046.65 samples/s", "VALID")
    assert summary_figure(SINGLE, "SingleStream") == ("0.112 ms p90", "INVALID")


def test_rows_cover_accuracy_and_performance(tmp_path: Path) -> None:
    base = tmp_path / "closed" / "Org" / "results" / "sys" / "resnet50"
    (base / "Offline" / "accuracy").mkdir(parents=True)
    (base / "Offline" / "accuracy" / "mlperf_log_summary.txt").write_text(OFFLINE)
    (base / "Offline" / "accuracy" / "accuracy.txt").write_text("accuracy=99.000%, good=99, total=100\nhash=x\n")
    (base / "SingleStream" / "performance" / "run_1").mkdir(parents=True)
    (base / "SingleStream" / "performance" / "run_1" / "mlperf_log_summary.txt").write_text(SINGLE)
    rows = collect_rows(tmp_path)
    assert [(r.scenario, r.mode, r.figure, r.validity) for r in rows] == [
        ("Offline", "accuracy", "accuracy=99.000%, good=99, total=100", ""),
        ("SingleStream", "performance/run_1", "0.112 ms p90", "INVALID"),
    ]
