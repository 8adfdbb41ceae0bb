"""A night's report: `report.md` and a self-contained `report.html` (plots embedded as base64 PNGs). Both start with
what regressed or failed (unit and figure), or say that everything reproduced. Rendering is pure (data in, text
out); `write` is the edge, into a folder `msb.paths.staged` makes appear complete or not at all."""

from __future__ import annotations

import base64
import html
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from matplotlib.figure import Figure as PlotFigure

from msb.nightly.history import Figure, Night
from msb.run.compare import Check

# Verdicts of a unit (history's figures.status) and of a night (nights.verdict).
REPRODUCED, REGRESSED, FAILED, NEW, FIRST = "reproduced", "regressed", "failed", "new", "first"
PLOTS_DIR = "plots"


@dataclass(frozen=True)
class ReportData:
    night: Night
    figures: list[Figure]  # tonight's, one per unit
    images: list[tuple[str, str, str]]  # (name, image ID, error)
    checks: dict[str, list[Check]]  # unit -> its comparison with the baseline unit
    history_nights: list[Night]  # the nights the plots show, oldest first, tonight last
    history_figures: list[Figure] = field(default_factory=list)  # their figures, tonight's included


@dataclass(frozen=True)
class Plot:
    unit: str
    metric: str
    png: bytes

    @property
    def file_name(self) -> str:
        return re.sub(r"[^A-Za-z0-9._-]+", "_", f"{self.unit}-{self.metric}").strip("_") + ".png"


def verdict(figures: list[Figure], image_errors: list[str]) -> str:
    statuses = {figure.status for figure in figures}
    if any(image_errors) or FAILED in statuses:
        return FAILED
    if REGRESSED in statuses:
        return REGRESSED
    return FIRST if statuses <= {NEW} else REPRODUCED


def headline(data: ReportData) -> list[str]:
    """The report's first lines: each failure and regression with its unit and figure, or one line saying all is
    well."""
    lines = [f"FAILED: image {name}: {error}" for name, _id, error in data.images if error]
    for figure in data.figures:
        if figure.status == FAILED:
            lines.append(f"FAILED: {figure.unit}: {figure.note}")
        elif figure.status == REGRESSED:
            lines.append(f"REGRESSED: {figure.unit}: {figure.note}")
    if lines:
        return lines
    count = len(data.figures)
    if data.night.verdict == FIRST:
        return [f"FIRST NIGHT: {count} unit(s) recorded; no baseline to compare with (night {data.night.night})"]
    new = sum(1 for figure in data.figures if figure.status == NEW)
    extra = f"; {new} unit(s) new tonight, recorded for the next nights" if new else ""
    return [
        f"ALL REPRODUCED: {count - new} unit(s) within ±{data.night.tolerance_pct:g}% (night {data.night.night}){extra}"
    ]


def plots(data: ReportData) -> list[Plot]:
    """One plot per performance unit and metric: its value over the nights shown, with the tolerance band around
    each night's baseline value."""
    wanted = [(f.unit, f.metric) for f in data.figures if f.accuracy is None and f.metric != "accuracy"]
    return [Plot(unit, metric, _plot(data, unit, metric)) for unit, metric in wanted]


def render_markdown(data: ReportData, shown: list[Plot]) -> str:
    night = data.night
    lines = [*headline(data), "", f"# Nightly reproducibility report, night {night.night}", ""]
    lines += [f"- {name}: {value}" for name, value in _facts(night)]
    lines += ["", "## Units", "", *_md_table(_UNIT_HEADER, [_unit_row(f) for f in data.figures])]
    lines += ["", "## Images", "", *_md_table(("image", "image ID", "result"), _image_rows(data))]
    for unit, checks in data.checks.items():
        lines += ["", f"### `{unit}`", "", *_md_table(_CHECK_HEADER, [_check_row(c) for c in checks])]
    if shown:
        lines += ["", "## Performance over the last nights", ""]
        lines += [f"![{p.unit} {p.metric}]({PLOTS_DIR}/{p.file_name})" for p in shown]
    return "\n".join(lines) + "\n"


def render_html(data: ReportData, shown: list[Plot]) -> str:
    night, first = data.night, headline(data)
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="en"><head><meta charset="utf-8"><title>{_e(first[0])}</title>',
        f"<style>{_CSS}</style></head><body>",
        *[f'<p class="{_css_class(line)}">{_e(line)}</p>' for line in first],
        f"<h1>Nightly reproducibility report, night {_e(night.night)}</h1>",
        "<ul>" + "".join(f"<li>{_e(name)}: {_e(value)}</li>" for name, value in _facts(night)) + "</ul>",
        "<h2>Units</h2>",
        _html_table(_UNIT_HEADER, [_unit_row(f) for f in data.figures]),
        "<h2>Images</h2>",
        _html_table(("image", "image ID", "result"), _image_rows(data)),
    ]
    for unit, checks in data.checks.items():
        parts += [f"<h3>{_e(unit)}</h3>", _html_table(_CHECK_HEADER, [_check_row(c) for c in checks])]
    if shown:
        parts.append("<h2>Performance over the last nights</h2>")
        parts += [_img(plot) for plot in shown]
    return "\n".join([*parts, "</body></html>", ""])


def write(folder: Path, data: ReportData) -> None:
    shown = plots(data)
    (folder / PLOTS_DIR).mkdir(parents=True, exist_ok=True)
    for plot in shown:
        (folder / PLOTS_DIR / plot.file_name).write_bytes(plot.png)
    (folder / "report.md").write_text(render_markdown(data, shown))
    (folder / "report.html").write_text(render_html(data, shown))


_UNIT_HEADER = ("unit", "figure", "baseline", "tonight", "validity", "accuracy", "verdict", "note")
_CHECK_HEADER = ("check", "baseline", "tonight", "same", "note")
_CSS = (
    "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}"
    "td,th{border:1px solid #bbb;padding:.25em .6em;text-align:left}.bad{color:#b00;font-weight:bold}"
    ".good{color:#070;font-weight:bold}img{display:block;margin:1em 0;max-width:100%}"
)


def _facts(night: Night) -> list[tuple[str, str]]:
    return [
        ("started", night.started),
        ("finished", night.finished),
        ("tool revision", night.revision),
        ("config", night.config),
        ("experiment", night.experiment),
        ("baseline", night.baseline or "none (first night)"),
        ("tolerance", f"±{night.tolerance_pct:g}% on performance figures; accuracy exactly"),
        ("verdict", f"{night.verdict} (exit {night.exit_code})"),
    ]


def _unit_row(figure: Figure) -> list[str]:
    return [
        figure.unit,
        figure.metric,
        _number(figure.baseline_value),
        _number(figure.value),
        figure.validity or "-",
        figure.accuracy or "-",
        figure.status.upper() if figure.status in (REGRESSED, FAILED) else figure.status,
        figure.note,
    ]


def _image_rows(data: ReportData) -> list[list[str]]:
    return [[name, image_id or "-", error or "built"] for name, image_id, error in data.images]


def _check_row(check: Check) -> list[str]:
    return [check.what, check.original, check.reproduced, "yes" if check.ok else "NO", check.note]


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _md_table(header: tuple[str, ...], rows: list[list[str]]) -> list[str]:
    def cells(values: list[str] | tuple[str, ...]) -> str:
        return "| " + " | ".join(value.replace("|", "\\|") for value in values) + " |"

    return [cells(header), cells(["---"] * len(header)), *(cells(row) for row in rows)]


def _html_table(header: tuple[str, ...], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{_e(cell)}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{_e(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _img(plot: Plot) -> str:
    encoded = base64.b64encode(plot.png).decode("ascii")
    return f'<img alt="{_e(plot.unit)} {_e(plot.metric)}" src="data:image/png;base64,{encoded}">'


def _css_class(line: str) -> str:
    return "bad" if line.startswith(("FAILED", "REGRESSED")) else "good"


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _series(data: ReportData, unit: str, metric: str) -> list[tuple[str, float | None, float | None, str]]:
    """(night, value, baseline value, status) for each night shown; a night without the unit has no point."""
    by_night = {f.night: f for f in data.history_figures if f.unit == unit and f.metric == metric}
    return [
        (n.night, by_night[n.night].value, by_night[n.night].baseline_value, by_night[n.night].status)
        if n.night in by_night
        else (n.night, None, None, "")
        for n in data.history_nights
    ]


def _plot(data: ReportData, unit: str, metric: str) -> bytes:
    series = _series(data, unit, metric)
    tolerance = data.night.tolerance_pct / 100
    positions = list(range(len(series)))
    banded = [(i, b) for i, (_n, _v, b, _s) in enumerate(series) if b is not None]
    # The pyplot-free API: no global figure state, no display backend.
    figure = PlotFigure(figsize=(8, 3.2), dpi=80)
    axes = figure.add_subplot()
    # The band is each night's own: with `baseline: previous` the baseline moves from night to night.
    axes.bar(
        [i for i, _ in banded],
        [2 * b * tolerance for _, b in banded],
        bottom=[b * (1 - tolerance) for _, b in banded],
        width=0.6,
        color="#9ecae1",
        alpha=0.6,
        label=f"baseline ±{data.night.tolerance_pct:g}%",
    )
    values = [value if value is not None else float("nan") for _n, value, _b, _s in series]
    axes.plot(positions, values, marker="o", color="#08519c", label=metric)
    bad = [(i, v) for i, (_n, v, _b, status) in enumerate(series) if status in (REGRESSED, FAILED) and v is not None]
    if bad:
        axes.plot([i for i, _ in bad], [v for _, v in bad], "o", color="#cb181d", label="regressed")
    axes.set_xticks(positions, [night for night, *_rest in series], rotation=30, ha="right", fontsize=7)
    axes.set_xlim(-0.7, len(series) - 0.3)
    axes.set_title(f"{unit}\n{metric}", fontsize=8)
    axes.legend(fontsize=7, loc="best")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
