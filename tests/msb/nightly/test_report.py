"""The night's report, rendered from a fabricated history: the first lines name what regressed (unit and figure) or say
that all reproduced; the HTML carries its plots as PNGs; the folder appears whole or not at all."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from msb.nightly import report
from msb.nightly.history import Figure, Night
from msb.paths import staged
from msb.run.compare import Check

PERF = "closed/MSB/results/cpu_demo/resnet50/Offline/performance/run_1"
ACC = "closed/MSB/results/cpu_demo/resnet50/Offline/accuracy"
NIGHTS = ["20261201T010000Z", "20261202T010000Z", "20261203T010000Z", "20261204T010000Z"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def night(night_id: str, verdict: str) -> Night:
    return Night(night_id, "2026-12-04T01:00:00Z", "2026-12-04T01:02:00Z", "/n/demo.yaml", f"/n/{night_id}/experiment",
                 "/n/previous/experiment", "abc123", 15.0, verdict, 0 if verdict == "reproduced" else 1)  # fmt: skip


def perf(night_id: str, value: float, baseline: float, status: str = "reproduced", note: str = "") -> Figure:
    return Figure(night_id, PERF, "Samples per second", value, baseline, "VALID", None, "sha256:" + "b" * 64, "abc123",
                  {"reproduced": True, "new": None}.get(status, False), status, note)  # fmt: skip


def accuracy(night_id: str) -> Figure:
    line = "accuracy=100.000%, good=64, total=64"
    return Figure(night_id, ACC, "accuracy", None, None, "", line, "sha256:" + "b" * 64, "abc123", True, "reproduced",
                  "")  # fmt: skip


def data(tonight: list[Figure], verdict: str, images: list[tuple[str, str, str]] | None = None) -> report.ReportData:
    earlier = [perf(NIGHTS[0], 1000, 990), perf(NIGHTS[1], 1010, 1000), perf(NIGHTS[2], 995, 1010)]
    earlier += [accuracy(n) for n in NIGHTS[:3]]
    checks = {PERF: [Check("validity", "VALID", "VALID", True), Check("Samples per second", "995.00", "99.50", False,
                                                                        "-90.0% (tolerance ±15%)")]}  # fmt: skip
    return report.ReportData(
        night=night(NIGHTS[3], verdict),
        figures=tonight,
        images=images or [("cpu", "sha256:" + "b" * 64, "")],
        checks=checks,
        history_nights=[night(n, "reproduced") for n in NIGHTS[:3]] + [night(NIGHTS[3], verdict)],
        history_figures=earlier + tonight,
    )


def regressed() -> report.ReportData:
    note = "Samples per second: 995.00 -> 99.50 (-90.0% (tolerance ±15%))"
    return data([accuracy(NIGHTS[3]), perf(NIGHTS[3], 99.5, 995, "regressed", note)], "regressed")


def test_a_regression_is_the_first_line_of_both_reports() -> None:
    shown = report.plots(regressed())
    markdown = report.render_markdown(regressed(), shown)
    html = report.render_html(regressed(), shown)
    first = f"REGRESSED: {PERF}: Samples per second: 995.00 -> 99.50"
    assert markdown.splitlines()[0].startswith(first)
    escaped = first.replace(">", "&gt;")
    assert html.splitlines()[1].startswith(f'<html lang="en"><head><meta charset="utf-8"><title>{escaped}')
    assert f'<p class="bad">{escaped}' in html.split("<h1>")[0]  # the body opens with it, before the title heading
    assert "| REGRESSED |" in markdown and "| reproduced |" in markdown


def test_the_html_embeds_one_png_per_performance_figure() -> None:
    html = report.render_html(regressed(), report.plots(regressed()))
    images = re.findall(r'<img alt="[^"]*" src="data:image/png;base64,([A-Za-z0-9+/=]+)">', html)
    assert len(images) == 1  # the accuracy unit has no performance plot
    assert base64.b64decode(images[0]).startswith(PNG_MAGIC)
    assert 'src="http' not in html and "<link" not in html and "<script" not in html  # self-contained


def test_all_reproduced_says_so_first() -> None:
    tonight = data([accuracy(NIGHTS[3]), perf(NIGHTS[3], 1001, 995)], "reproduced")
    lines = report.headline(tonight)
    assert lines == [f"ALL REPRODUCED: 2 unit(s) within ±15% (night {NIGHTS[3]})"]
    assert report.render_markdown(tonight, []).startswith(lines[0] + "\n")


def test_a_failed_image_and_a_failed_unit_are_named() -> None:
    failed = perf(NIGHTS[3], 0, 995, "failed", "image cpu did not build")
    tonight = data([failed], "failed", images=[("cpu", "", "the build failed: step 5 (log: /n/logs/image-cpu.log)")])
    assert report.headline(tonight) == [
        "FAILED: image cpu: the build failed: step 5 (log: /n/logs/image-cpu.log)",
        f"FAILED: {PERF}: image cpu did not build",
    ]


@pytest.mark.parametrize(
    ("statuses", "image_error", "expected"),
    [
        (["reproduced", "reproduced"], "", report.REPRODUCED),
        (["reproduced", "regressed"], "", report.REGRESSED),
        (["regressed", "failed"], "", report.FAILED),
        (["reproduced"], "did not build", report.FAILED),
        (["new", "new"], "", report.FIRST),
        (["new", "reproduced"], "", report.REPRODUCED),
    ],
)
def test_the_night_verdict(statuses: list[str], image_error: str, expected: str) -> None:
    figures = [perf(NIGHTS[3], 1, 1, status) for status in statuses]
    assert report.verdict(figures, [image_error]) == expected


def test_the_report_folder_appears_whole(tmp_path: Path) -> None:
    with staged(tmp_path / "report") as staging:
        report.write(staging, regressed())
        assert not (tmp_path / "report").exists()
    written = sorted(p.relative_to(tmp_path / "report").as_posix() for p in (tmp_path / "report").rglob("*"))
    assert written[:1] == ["plots"] and written[-2:] == ["report.html", "report.md"]
    assert (tmp_path / "report" / "report.md").read_text().startswith("REGRESSED:")
    assert list(tmp_path.iterdir()) == [tmp_path / "report"]


def test_an_interrupted_report_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt), staged(tmp_path / "report") as staging:
        (staging / "report.md").write_text("half")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
