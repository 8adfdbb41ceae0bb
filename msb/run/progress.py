"""Progress of a run matrix: one line per run with its state and elapsed time, live on a terminal (rich), one
printed line per change elsewhere (CI logs, captured output)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from rich.console import Console
from rich.live import Live
from rich.table import Table

PENDING, RUNNING, DONE, FAILED, SKIPPED = "pending", "running", "done", "failed", "skipped"
_STYLE = {PENDING: "dim", RUNNING: "bold yellow", DONE: "green", FAILED: "bold red", SKIPPED: "cyan"}


@dataclass
class Row:
    key: str
    state: str = PENDING
    started: float | None = None
    finished: float | None = None
    note: str = ""

    def elapsed(self, now: float) -> float | None:
        if self.started is None:
            return None
        return (self.finished or now) - self.started


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}" if minutes < 60 else f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"


def render(rows: list[Row], now: float) -> Table:
    table = Table(box=None, show_header=True, pad_edge=False)
    for column in ("run", "state", "elapsed", ""):
        table.add_column(column)
    for row in rows:
        style = _STYLE[row.state]
        table.add_row(row.key, f"[{style}]{row.state}[/]", format_seconds(row.elapsed(now)), row.note)
    return table


class MatrixProgress:
    """The rows of one matrix and how they are shown; `update` records a state change."""

    def __init__(self, keys: list[str], console: Console) -> None:
        self.rows = {key: Row(key) for key in keys}
        self.console = console
        self._live: Live | None = None

    def update(self, key: str, state: str, note: str = "") -> None:
        row = self.rows[key]
        now = time.monotonic()
        if state == RUNNING:
            row.started, row.finished = now, None
        elif state in (DONE, FAILED) and row.started is not None:
            row.finished = now
        row.state, row.note = state, note
        if self._live is not None:
            self._live.update(self._table())
        else:
            elapsed = format_seconds(row.elapsed(now))
            line = f"{key}: {state}" + (f" ({elapsed})" if elapsed else "") + (f" {note}" if note else "")
            self.console.print(line, soft_wrap=True)  # one line per change, as a log reader greps it

    def _table(self) -> Table:
        return render(list(self.rows.values()), time.monotonic())

    @contextmanager
    def shown(self) -> Iterator[MatrixProgress]:
        """Live table on a terminal (refreshed, so the running line's time moves); plain lines otherwise."""
        if not self.console.is_terminal:
            yield self
            return
        with Live(self._table(), console=self.console, refresh_per_second=1, get_renderable=self._table) as live:
            self._live = live
            try:
                yield self
            finally:
                self._live = None
