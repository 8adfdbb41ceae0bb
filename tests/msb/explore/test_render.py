"""explore's report: the CSV (one row per point, empty cells where a point has no figure), the Markdown summary
(its first line the recommendation or its absence, the rule stated) and the plots as real PNG files."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from PIL import Image

from msb.explore import plots
from msb.explore.grid import Point
from msb.explore.render import CSV_HEADER, Exploration, applied_settings, headline, render_csv, render_summary
from msb.explore.results import INVALID, REFUSED, VALID, PointResult, recommend
from msb.explore.run import write_report

RESULTS = (
    PointResult(Point(1, 2), VALID, 2, 500.0, 1.5, 1.4, 1.9, 2.5, experiment="points/bs1-t2", manifest="m1.json"),
    PointResult(Point(8, 2), VALID, 2, 1200.25, 5.0, 4.0, 7.0, 9.5, experiment="points/bs8-t2", manifest="m8.json"),
    PointResult(Point(32, 2), INVALID, 2, 1500.0, 20.0, 18.0, 25.0, 30.0, experiment="points/bs32-t2"),
    PointResult(Point(256, 2), REFUSED, 2, message="the model cannot run a batch of 256", experiment="points/bs256-t2"),
)


def exploration(results: tuple[PointResult, ...] = RESULTS, scenario: str = "Offline", applied: bool = False):
    return Exploration(
        system="cpu_demo",
        description="systems/cpu-demo-v61.yaml",
        benchmark="resnet50",
        scenario=scenario,
        image="sha256:abc",
        duration_ms=1000,
        count=64,
        started="2026-12-02T02:00:00Z",
        finished="2026-12-02T02:01:00Z",
        results=results,
        recommendation=recommend(scenario, results),
        applied=applied,
        threads_explored=True,
    )


def test_csv_has_one_row_per_point_in_grid_order() -> None:
    rows = list(csv.DictReader(io.StringIO(render_csv(RESULTS))))
    assert tuple(rows[0]) == CSV_HEADER
    assert [r["point"] for r in rows] == ["bs1-t2", "bs8-t2", "bs32-t2", "bs256-t2"]
    assert rows[1]["batch_size"] == "8" and rows[1]["threads"] == "2" and rows[1]["status"] == "VALID"
    assert float(rows[1]["samples_per_second"]) == 1200.25 and float(rows[1]["p99_ms"]) == 9.5
    assert rows[1]["manifest"] == "m8.json"
    assert rows[3]["status"] == "REFUSED" and rows[3]["samples_per_second"] == "" and "256" in rows[3]["message"]


def test_summary_starts_with_the_recommendation_and_states_the_rule() -> None:
    text = render_summary(exploration())
    first = text.splitlines()[0]
    assert first == "RECOMMENDED: batch_size: 8, threads: 2 (bs8-t2: 1,200 samples/s, VALID)"
    assert "the highest throughput (samples/s)" in text and "ties go to the smaller batch size" in text
    assert "| bs8-t2 | 8 | 2 | VALID | 1,200 |" in text and "| recommended |" in text
    assert "| bs256-t2 | 256 | 2 | REFUSED |" in text and "the model cannot run a batch of 256" in text
    assert "](plots/throughput.png)" in text and "](plots/latency.png)" in text
    assert "`--apply` writes it into `benchmarks.resnet50` of `systems/cpu-demo-v61.yaml`" in text
    assert "written into `benchmarks.resnet50`" in render_summary(exploration(applied=True))


def test_latency_scenarios_recommend_by_their_percentile() -> None:
    first = headline(exploration(scenario="SingleStream"))
    assert first == "RECOMMENDED: batch_size: 1, threads: 2 (bs1-t2: p90 1.9 ms, VALID)"


def test_no_valid_point_is_said_first_and_nothing_is_to_be_applied() -> None:
    results = (RESULTS[2], RESULTS[3])
    e = exploration(results)
    assert headline(e) == "NO VALID POINT: no setting recommended (INVALID 1, REFUSED 1)"
    assert applied_settings(e) == {}
    assert "--apply changes nothing" in render_summary(e)


def png_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        image.verify()  # a truncated or corrupt PNG raises
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        return image.size


def test_plots_are_png_files_that_decode() -> None:
    for make in (plots.throughput_png, plots.latency_png):
        data = make(RESULTS, "resnet50 Offline on cpu_demo")
        assert data.startswith(b"\x89PNG") and len(data) > 5_000
        assert png_size(data) == (560, 288)  # 7 x 3.6 inches at 80 dpi


def test_plots_of_points_without_figures_still_decode() -> None:
    assert png_size(plots.latency_png((RESULTS[3],), "nothing measured")) == (560, 288)


def test_report_folder_holds_summary_csv_and_plots(tmp_path: Path) -> None:
    write_report(tmp_path / "report", exploration())
    names = sorted(str(p.relative_to(tmp_path / "report")) for p in (tmp_path / "report").rglob("*") if p.is_file())
    assert names == ["plots/latency.png", "plots/throughput.png", "results.csv", "summary.md"]
    assert png_size((tmp_path / "report" / "plots" / "throughput.png").read_bytes())[0] > 0
    assert [p.name for p in tmp_path.iterdir()] == ["report"]  # no staging folder left behind
