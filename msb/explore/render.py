"""The exploration's CSV and Markdown summary, rendered from its results. Pure: data in, text out."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass

from msb.descriptions.edit import format_value
from msb.descriptions.per_scenario import SCENARIO_FALLBACK
from msb.explore.results import INVALID, PERCENTILES, RULES, TIE_RULE, PointResult, Recommendation

PLOTS_DIR = "plots"
THROUGHPUT_PLOT, LATENCY_PLOT = "throughput.png", "latency.png"
CSV_HEADER = (
    "point",
    "batch_size",
    "threads",
    "status",
    "samples_per_second",
    "mean_ms",
    *(f"{p}_ms" for p in PERCENTILES),
    "experiment",
    "manifest",
    "message",
)


@dataclass(frozen=True)
class Exploration:
    """What the summary states: what was explored, how, what each point measured and what it recommends."""

    system: str
    description: str  # the system description's path, as given
    benchmark: str
    scenario: str
    image: str
    duration_ms: int | None  # None: the description's min_duration_ms
    count: int | None
    started: str
    finished: str
    results: tuple[PointResult, ...]
    recommendation: Recommendation | None
    applied: bool  # --apply wrote the recommendation into the description
    threads_explored: bool  # the grid varied threads (so --apply sets them too)


def render_csv(results: tuple[PointResult, ...]) -> str:
    """One row per point, in grid order; empty cells where a point has no figure. Numbers as measured."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for r in results:
        figures = (r.samples_per_second, r.mean_ms, *(r.latency_ms(p) for p in PERCENTILES))
        writer.writerow(
            [r.point.tag, r.point.batch_size, _cell(r.threads), r.status, *(_cell(v) for v in figures),
             r.experiment, r.manifest, r.message]
        )  # fmt: skip
    return out.getvalue()


def applied_settings(exploration: Exploration) -> dict[str, int]:
    """The benchmark settings --apply writes: the batch size, and the threads when the grid varied them."""
    rec = exploration.recommendation
    if rec is None:
        return {}
    settings = {"batch_size": rec.result.point.batch_size}
    if exploration.threads_explored and rec.result.point.threads is not None:
        settings["threads"] = rec.result.point.threads
    return settings


RECOMMENDED = "RECOMMENDED:"  # the headline's first word when a setting is recommended


def headline(exploration: Exploration) -> str:
    """The summary's first line (and the command's last): the setting recommended, or that there is none."""
    rec = exploration.recommendation
    if rec is None:
        counts = ", ".join(f"{s} {n}" for s, n in _status_counts(exploration.results))
        return f"NO VALID POINT: no setting recommended ({counts})"
    settings = ", ".join(f"{k}: {v}" for k, v in applied_settings(exploration).items())
    return f"{RECOMMENDED} {settings} ({rec.result.point.tag}: {_figure(rec)})"


def render_summary(exploration: Exploration) -> str:
    e = exploration
    lines = [headline(e), "", f"# Explore: {e.benchmark} {e.scenario} on {e.system}", ""]
    lines += [
        f"- system description: `{e.description}`",
        f"- image: `{e.image}`",
        f"- grid: batch sizes {', '.join(_unique(str(r.point.batch_size) for r in e.results))}; threads "
        + (", ".join(_unique(str(r.threads) for r in e.results)) if e.threads_explored else _kept_threads(e)),
        f"- each point: a performance run of {_duration(e)}"
        + (f" on the first {e.count} samples" if e.count else "")
        + ": short, to compare settings; not a submission result",
        f"- started {e.started}, finished {e.finished}",
        f"- rule: {e.scenario}: of the VALID points, {e.recommendation.rule.text if e.recommendation else _rule(e)}; "
        f"{TIE_RULE}",
        "",
        "## Points",
        "",
        *_table(
            ("point", "batch size", "threads", "LoadGen", "samples/s", "mean ms", "p50 ms", "p90 ms", "p99 ms", "note"),
            [_row(r, e.recommendation) for r in e.results],
        ),
        "",
        "## Plots",
        "",
        f"![throughput against batch size]({PLOTS_DIR}/{THROUGHPUT_PLOT})",
        "",
        f"![latency percentiles against batch size]({PLOTS_DIR}/{LATENCY_PLOT})",
        "",
        "## Setting",
        "",
        *_setting_lines(e),
    ]
    return "\n".join(lines) + "\n"


def _setting_lines(e: Exploration) -> list[str]:
    if e.recommendation is None:
        return [
            "No point was VALID, so nothing is recommended and --apply changes nothing. The points' notes and logs "
            "(`points/<point>/.msb/logs/`) say why; a longer `--duration-ms` or the scenario's target "
            "(`build.py find-peak`) may make runs VALID.",
        ]
    where = f"`benchmarks.{e.benchmark}` of `{e.description}`"
    settings = ", ".join(f"`{k}: {v}`" for k, v in applied_settings(e).items())
    verb = "written into" if e.applied else "`--apply` writes it into"
    return [
        f"{settings}: {verb} {where}, one line per setting, comments kept. Each is {e.scenario}'s alone "
        f"(`batch_size: 8` becomes `batch_size: {{{SCENARIO_FALLBACK}: 8, {e.scenario}: N}}`; a per-scenario mapping "
        f"gets its {e.scenario} entry; absent `threads` becomes `threads: {{{e.scenario}: N}}`), so the other "
        "scenarios keep theirs.",
    ]


def _row(r: PointResult, rec: Recommendation | None) -> list[str]:
    note = "recommended" if rec is not None and rec.result.point == r.point else r.message
    if not note and r.status == INVALID:
        note = "not counted: LoadGen found the run INVALID (its mlperf_log_summary.txt says why)"
    figures = (r.samples_per_second, r.mean_ms, *(r.latency_ms(p) for p in PERCENTILES))
    return [r.point.tag, str(r.point.batch_size), _shown_threads(r.threads), r.status,
            *(_shown(v) for v in figures), note]  # fmt: skip


def _table(header: tuple[str, ...], rows: list[list[str]]) -> list[str]:
    def cells(values: list[str] | tuple[str, ...]) -> str:
        return "| " + " | ".join(value.replace("|", "\\|").replace("\n", " ") for value in values) + " |"

    return [cells(header), cells(["---"] * len(header)), *(cells(row) for row in rows)]


def _figure(rec: Recommendation) -> str:
    unit = "samples/s" if rec.rule.figure == "samples_per_second" else "ms"
    name = {"samples_per_second": "", "p90_ms": "p90 ", "p99_ms": "p99 "}[rec.rule.figure]
    return f"{name}{_shown(rec.value)} {unit}, {rec.result.status}"


def _rule(e: Exploration) -> str:
    return RULES[e.scenario].text


def _status_counts(results: tuple[PointResult, ...]) -> list[tuple[str, int]]:
    statuses = _unique(r.status for r in results)
    return [(status, sum(1 for r in results if r.status == status)) for status in statuses]


def _unique(items: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def _kept_threads(e: Exploration) -> str:
    return f"{_shown_threads(e.results[0].threads) if e.results else '-'} (the description's)"


def _duration(e: Exploration) -> str:
    return f"{e.duration_ms:,} ms" if e.duration_ms else "the description's min_duration_ms"


def _shown_threads(threads: int | None) -> str:
    return "runtime default" if threads is None else str(threads)


def _shown(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def _cell(value: float | int | None) -> str:
    return "" if value is None else format_value(value)
