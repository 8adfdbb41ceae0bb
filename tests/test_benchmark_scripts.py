"""The benchmark scripts' reading of LoadGen's summary and their refusal of a wrong reference checkout.

The summaries are written by real LoadGen runs of a trivial SUT: one that satisfies LoadGen and one that cannot
meet the minimum duration, so the figures and the reason for INVALID are read from LoadGen's own wording.
"""

from __future__ import annotations

from pathlib import Path

import mlperf_loadgen as lg
import pytest

from benchmarks.reference_harness import check_checkout, summary_figures


def _summary(tmp_path: Path, min_duration_ms: int) -> str:
    def issue(samples: list[lg.QuerySample]) -> None:
        lg.QuerySamplesComplete([lg.QuerySampleResponse(s.id, 0, 0) for s in samples])

    settings = lg.TestSettings()
    settings.scenario = lg.TestScenario.Offline
    settings.mode = lg.TestMode.PerformanceOnly
    settings.offline_expected_qps = 100
    settings.min_duration_ms = min_duration_ms
    settings.min_query_count = 1
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
    return (tmp_path / "mlperf_log_summary.txt").read_text()


def test_a_valid_summary_gives_the_rate_and_no_unmet_condition(tmp_path: Path) -> None:
    figures = summary_figures(_summary(tmp_path, min_duration_ms=0))
    assert figures["valid"] is True and figures["unmet"] == []
    assert figures["samples_per_s"] > 0 and figures["p90_ms"] >= 0


def test_an_invalid_summary_names_the_condition_it_missed(tmp_path: Path) -> None:
    # 100 expected samples/s over 60 s is 6,600 samples, answered at once: far too soon for the minimum duration.
    figures = summary_figures(_summary(tmp_path, min_duration_ms=60_000))
    assert figures["valid"] is False
    assert figures["unmet"] == ["Min duration"]


def test_a_folder_that_is_not_an_inference_checkout_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match=rf"--reference {tmp_path}: no vision/classification_and_detection"):
        check_checkout(tmp_path)
