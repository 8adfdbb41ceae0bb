"""`build.py report DIR`: one line per result in a submission tree, read from LoadGen's summaries and accuracy.txt."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

# The summary line holding each scenario's metric (LoadGen 5.x wording), the factor to the unit shown (LoadGen
# states latencies in ns; people read ms), the decimals shown, and the unit.
METRICS = {
    "Offline": (r"Samples per second", 1.0, 2, "samples/s"),
    "Server": (r"Completed samples per second", 1.0, 2, "samples/s"),
    "SingleStream": (r"90(?:\.0)?th percentile latency \(ns\)", 1e-6, 3, "ms p90"),
    "MultiStream": (r"99(?:\.0)?th percentile latency \(ns\)", 1e-6, 3, "ms p99"),
}


@dataclass(frozen=True)
class ResultRow:
    system: str
    benchmark: str
    scenario: str
    mode: str
    figure: str
    validity: str


def summary_figure(summary: str, scenario: str) -> tuple[str, str]:
    """(metric text, VALID/INVALID) from mlperf_log_summary.txt."""
    validity = re.search(r"Result is\s*:\s*(\w+)", summary)
    pattern, factor, decimals, unit = METRICS[scenario]
    match = re.search(rf"^{pattern}\s*:\s*([\d.]+)", summary, re.M)
    figure = f"{float(match.group(1)) * factor:,.{decimals}f} {unit}" if match else "?"
    return figure, validity.group(1) if validity else "?"


def collect_rows(root: Path) -> list[ResultRow]:
    rows = []
    for summary in sorted(root.glob("*/*/results/*/*/*/*/mlperf_log_summary.txt")) + sorted(
        root.glob("*/*/results/*/*/*/performance/run_*/mlperf_log_summary.txt")
    ):
        parts = summary.relative_to(root).parts
        system, benchmark, scenario, mode = parts[3], parts[4], parts[5], parts[6]
        if mode == "accuracy":
            accuracy = summary.parent / "accuracy.txt"
            first = accuracy.read_text().splitlines()[0] if accuracy.is_file() else "no accuracy.txt"
            rows.append(ResultRow(system, benchmark, scenario, mode, first, ""))
        elif mode == "performance":
            figure, validity = summary_figure(summary.read_text(), scenario)
            rows.append(ResultRow(system, benchmark, scenario, f"performance/{parts[7]}", figure, validity))
    return rows


def print_report(root: Path, console: Console) -> int:
    rows = collect_rows(root)
    table = Table(title=f"results in {root}")
    for column in ("system", "benchmark", "scenario", "mode", "result", "LoadGen"):
        table.add_column(column, no_wrap=True)
    for row in rows:
        table.add_row(row.system, row.benchmark, row.scenario, row.mode, row.figure, row.validity)
    console.print(table)
    return len(rows)
