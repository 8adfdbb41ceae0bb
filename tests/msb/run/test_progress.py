"""Matrix progress: one line per run with its state and elapsed time, live on a terminal, plain lines elsewhere."""

from __future__ import annotations

import io

from rich.console import Console

from msb.run.progress import DONE, FAILED, PENDING, RUNNING, SKIPPED, MatrixProgress, Row, format_seconds, render


def text_of(table: object) -> str:
    out = Console(file=io.StringIO(), width=120, color_system=None)
    out.print(table)
    return out.file.getvalue()  # type: ignore[attr-defined]


def test_table_has_one_line_per_run_with_state_and_time() -> None:
    rows = [Row("a-accuracy", DONE, 0.0, 65.0), Row("a-TEST01", RUNNING, 100.0), Row("a-TEST04", PENDING)]
    lines = text_of(render(rows, now=103.0)).splitlines()
    assert any("a-accuracy" in line and "done" in line and "1:05" in line for line in lines)
    assert any("a-TEST01" in line and "running" in line and "0:03" in line for line in lines)
    assert any("a-TEST04" in line and "pending" in line for line in lines)


def test_format_seconds() -> None:
    assert (format_seconds(None), format_seconds(7.9), format_seconds(3725)) == ("", "0:07", "1:02:05")


def test_plain_output_prints_each_change_on_one_line() -> None:
    console = Console(file=io.StringIO(), width=40)
    progress = MatrixProgress(["cpu_demo-resnet50-Offline-accuracy", "b"], console)
    with progress.shown():
        progress.update("cpu_demo-resnet50-Offline-accuracy", SKIPPED, "complete in the tree")
        progress.update("b", RUNNING)
        progress.update("b", FAILED, "log: /x/.msb/logs/b.log")
    lines = console.file.getvalue().splitlines()  # type: ignore[attr-defined]
    assert lines[0] == "cpu_demo-resnet50-Offline-accuracy: skipped complete in the tree"
    assert lines[2].startswith("b: failed (0:00) log: /x/.msb/logs/b.log")


def test_terminal_shows_a_live_table() -> None:
    console = Console(file=io.StringIO(), width=100, force_terminal=True, color_system=None)
    progress = MatrixProgress(["r1", "r2"], console)
    with progress.shown():
        progress.update("r1", RUNNING)
        progress.update("r1", DONE)
    shown = console.file.getvalue()  # type: ignore[attr-defined]
    assert "r1" in shown and "done" in shown and "r2" in shown and "pending" in shown
