"""The exploration's plots as PNG bytes: throughput, and latency percentiles, against batch size (one line per
thread count). VALID points are filled; INVALID ones hollow, so a figure LoadGen did not accept is never mistaken
for one it did. Points without figures (refused, failed) have no marker."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from itertools import cycle

from matplotlib.axes import Axes
from matplotlib.figure import Figure as PlotFigure

from msb.explore.results import PERCENTILES, VALID, PointResult

_COLOURS = ("#08519c", "#cb181d", "#238b45", "#6a51a3", "#d94801", "#525252")
_STYLES = {"p50": "-", "p90": "--", "p99": ":"}


def throughput_png(results: Sequence[PointResult], title: str) -> bytes:
    figure, axes = _figure(results, title, "samples per second")
    for colour, (threads, series) in zip(cycle(_COLOURS), _by_threads(results)):
        _line(axes, series, lambda r: r.samples_per_second, colour, "-", _label("", threads, results))
    return _png(figure, axes)


def latency_png(results: Sequence[PointResult], title: str) -> bytes:
    figure, axes = _figure(results, title, "latency (ms)")
    for colour, (threads, series) in zip(cycle(_COLOURS), _by_threads(results)):
        for percentile in PERCENTILES:
            _line(axes, series, _latency(percentile), colour, _STYLES[percentile], _label(percentile, threads, results))
    return _png(figure, axes)


def _latency(percentile: str) -> Callable[[PointResult], float | None]:
    return lambda result: result.latency_ms(percentile)


def _figure(results: Sequence[PointResult], title: str, ylabel: str) -> tuple[PlotFigure, Axes]:
    # The pyplot-free API, as the nightly report's plots: no global figure state, no display backend.
    figure = PlotFigure(figsize=(7, 3.6), dpi=80)
    axes = figure.add_subplot()
    axes.set_xscale("log", base=2)  # batch sizes usually double from one point to the next
    sizes = sorted({r.point.batch_size for r in results})
    axes.set_xticks(sizes, [str(size) for size in sizes])
    axes.minorticks_off()
    axes.set_xlabel("batch size")
    axes.set_ylabel(ylabel)
    axes.set_title(f"{title}\nfilled: VALID, hollow: INVALID", fontsize=9)
    axes.grid(True, which="major", alpha=0.3)
    return figure, axes


def _line(
    axes: Axes,
    series: list[PointResult],
    value: Callable[[PointResult], float | None],
    colour: str,
    style: str,
    label: str,
) -> None:
    shown = [(r.point.batch_size, y, r.status == VALID) for r in series if (y := value(r)) is not None]
    if not shown:
        return
    axes.plot([x for x, _y, _v in shown], [y for _x, y, _v in shown], style, color=colour, label=label)
    for x, y, valid in shown:
        axes.plot([x], [y], "o", color=colour, markerfacecolor=colour if valid else "white")


def _by_threads(results: Sequence[PointResult]) -> list[tuple[int | None, list[PointResult]]]:
    """The points of each thread count, by batch size (a line joins each count's points)."""
    counts: list[int | None] = []
    for r in results:
        if r.threads not in counts:
            counts.append(r.threads)
    return [(t, sorted((r for r in results if r.threads == t), key=lambda r: r.point.batch_size)) for t in counts]


def _label(percentile: str, threads: int | None, results: Sequence[PointResult]) -> str:
    several = len({r.threads for r in results}) > 1
    parts = [percentile] if percentile else []
    if several or not percentile:
        parts.append(f"{threads} threads" if threads is not None else "default threads")
    return " ".join(parts)


def _png(figure: PlotFigure, axes: Axes) -> bytes:
    if axes.get_legend_handles_labels()[0]:
        axes.legend(fontsize=7, loc="best")
    else:
        axes.text(0.5, 0.5, "no point has this figure", ha="center", va="center", transform=axes.transAxes)
    figure.tight_layout()
    buffer = io.BytesIO()
    # No Software metadata: the same results give the same bytes.
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
