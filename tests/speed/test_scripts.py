"""The benchmark scripts' reading of LoadGen's logs and their refusal of a wrong reference checkout.

The logs are written by real LoadGen runs of a trivial SUT: one that satisfies LoadGen and one that cannot
meet the minimum duration, so the figures and the reason for INVALID are read from LoadGen's own wording.
"""

from __future__ import annotations

import re
from pathlib import Path

import mlperf_loadgen as lg
import pytest

from harness.results.loadgen_logs import parse_summary
from speed.loadgen_figures import run_figures
from speed.reference_harness import check_checkout


def _run(tmp_path: Path, min_duration_ms: int, scenario: str = "Offline") -> Path:
    def issue(samples: list[lg.QuerySample]) -> None:
        lg.QuerySamplesComplete([lg.QuerySampleResponse(s.id, 0, 0) for s in samples])

    settings = lg.TestSettings()
    settings.scenario = getattr(lg.TestScenario, scenario)
    settings.mode = lg.TestMode.PerformanceOnly
    settings.offline_expected_qps = 100
    settings.single_stream_expected_latency_ns = 100_000
    settings.min_duration_ms = min_duration_ms
    settings.min_query_count = 1 if scenario == "Offline" else 500
    log = lg.LogSettings()
    log.log_output.outdir = str(tmp_path)
    log.log_output.copy_summary_to_stdout = False
    sut = lg.ConstructSUT(issue, lambda: None)
    qsl = lg.ConstructQSL(8, 8, lambda _: None, lambda _: None)
    try:
        lg.StartTestWithLogSettings(sut, qsl, settings, log)
    finally:
        lg.DestroyQSL(qsl)
        lg.DestroySUT(sut)
    return tmp_path


def test_a_valid_summary_gives_the_rate_and_no_unmet_condition(tmp_path: Path) -> None:
    folder = _run(tmp_path, min_duration_ms=0)
    figures = run_figures(folder, "Offline")
    assert figures["valid"] is True and figures["unmet"] == []
    headline = parse_summary((folder / "mlperf_log_summary.txt").read_text())
    assert headline.metric == "Samples per second" and figures["samples_per_s"] == pytest.approx(headline.value)
    assert 0 <= figures["p50_ms"] <= figures["p90_ms"] <= figures["p99_ms"]


def test_the_latency_percentiles_are_the_ones_loadgen_states(tmp_path: Path) -> None:
    folder = _run(tmp_path, min_duration_ms=0, scenario="SingleStream")
    summary = (folder / "mlperf_log_summary.txt").read_text()
    figures = run_figures(folder, "SingleStream")
    for percentile in ("50", "90", "99"):
        stated = re.search(rf"^{percentile}.00 percentile latency \(ns\)\s*:\s*(\d+)", summary, re.M)
        assert stated is not None and figures[f"p{percentile}_ms"] == int(stated[1]) / 1e6


def test_an_invalid_summary_names_the_condition_it_missed(tmp_path: Path) -> None:
    # 100 expected samples/s over 60 s is 6,600 samples, answered at once: far too soon for the minimum duration.
    figures = run_figures(_run(tmp_path, min_duration_ms=60_000), "Offline")
    assert figures["valid"] is False
    assert figures["unmet"] == ["Min duration"]


def test_a_folder_that_is_not_an_inference_checkout_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match=rf"--reference {tmp_path}: no vision/classification_and_detection"):
        check_checkout(tmp_path)
