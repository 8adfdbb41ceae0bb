"""The figures of a LoadGen run from the logs in its folder, for the benchmark scripts.

Their runs have no run record (the reference harness's, LoadGen around a bare SUT; ours are read the same way
for a like-for-like table), so the logs are read here, through the harness's own readers (harness.results.loadgen_logs):
latencies and rates from the detail log, validity from the summary, plus which of LoadGen's conditions an
INVALID run missed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from harness.results.loadgen_logs import parse_summary, performance_figures

# LoadGen's summary: "  Min duration satisfied : NO" (and "Early stopping satisfied: NO").
_UNMET = re.compile(r"^\s*\*?\s*([\w ]+?) satisfied\s*:\s*NO", re.M)


def run_figures(folder: Path, scenario: str) -> dict[str, Any]:
    """p50/p90/p99 in ms, samples/s (Offline, SingleStream's QPS not included) or Server's completed and scheduled
    rates, `valid` and `unmet`; figures LoadGen did not log are left out."""
    summary = (folder / "mlperf_log_summary.txt").read_text()
    logged = performance_figures((folder / "mlperf_log_detail.txt").read_text(), scenario)
    figures: dict[str, Any] = {"p50_ms": logged.p50_ms, "p90_ms": logged.p90_ms, "p99_ms": logged.p99_ms}
    if scenario == "Server":
        figures.update(completed_qps=logged.samples_per_second, scheduled_qps=logged.scheduled_samples_per_second)
    else:
        figures["samples_per_s"] = logged.samples_per_second
    figures = {key: value for key, value in figures.items() if value is not None}
    return {**figures, "valid": parse_summary(summary).validity == "VALID", "unmet": _UNMET.findall(summary)}
