"""`build.py explore` end to end: a 2-point grid in the real `cpu` image (real LoadGen, ONNX Runtime, the synthetic
model), short runs; each point an experiment whose manifest reproduces it; the CSV, real PNG plots, the summary;
--apply changing one line of the description."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from msb.synthetic.imagenet import write_dataset, write_model
from tests.support import REPO

SYSTEM = "cpu-demo-v61.yaml"  # round v6.1: runs in the `cpu` image
COUNT = 32

pytestmark = pytest.mark.docker


def build_py(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "build.py", *map(str, args)], cwd=REPO, capture_output=True, text=True, timeout=900
    )


def test_a_two_point_grid_runs_in_the_image_and_recommends_a_setting(cpu_image: str, tmp_path: Path) -> None:
    write_dataset(tmp_path / "data" / "dataset", COUNT)
    write_model(tmp_path / "data" / "model.onnx")
    for path in [tmp_path, *tmp_path.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    system = tmp_path / SYSTEM
    shutil.copy(REPO / "systems" / SYSTEM, system)
    result = build_py(
        "explore", "--system", system, "--benchmark", "resnet50", "--scenario", "Offline",
        "--batch-sizes", "1,8", "--duration-ms", "500", "--apply",
        "--dataset", tmp_path / "data" / "dataset", "--model", tmp_path / "data" / "model.onnx",
        "--experiment", tmp_path / "explore", "--count", str(COUNT), "--image", cpu_image,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    report = tmp_path / "explore" / "report"
    rows = list(csv.DictReader((report / "results.csv").open()))
    assert [r["point"] for r in rows] == ["bs1", "bs8"]
    assert [r["threads"] for r in rows] == ["2", "2"]  # the description's, kept
    assert all(r["status"] == "VALID" for r in rows), rows
    for row in rows:
        assert float(row["samples_per_second"]) > 0
        assert 0 < float(row["p50_ms"]) <= float(row["p90_ms"]) <= float(row["p99_ms"])
        point = tmp_path / "explore" / row["experiment"]
        data = json.loads((tmp_path / "explore" / row["manifest"]).read_text())
        assert data["image"]["id"].startswith("sha256:") and data["outcome"] == "placed"
        assert data["spec"]["backend"]["batch_size"] == int(row["batch_size"])
        assert data["spec"]["loadgen"]["min_duration_ms"] == 500
        assert (point / "point.json").is_file() and (point / ".msb" / "logs" / f"{row['point']}.log").is_file()
    best = max(rows, key=lambda r: float(r["samples_per_second"]))
    summary = (report / "summary.md").read_text()
    assert summary.startswith(f"RECOMMENDED: batch_size: {best['batch_size']} ({best['point']}: ")
    assert f"RECOMMENDED: batch_size: {best['batch_size']}" in result.stdout
    for name in ("throughput.png", "latency.png"):
        with Image.open(io.BytesIO((report / "plots" / name).read_bytes())) as image:
            assert image.format == "PNG" and image.size == (560, 288)
    before = (REPO / "systems" / SYSTEM).read_text().splitlines()
    after = system.read_text().splitlines()
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    expected = [] if best["batch_size"] == "8" else [("    batch_size: 8", f"    batch_size: {best['batch_size']}")]
    assert changed == expected

    # A point's manifest re-runs that point, with its own settings (the batch size the grid gave it).
    manifest = tmp_path / "explore" / rows[0]["manifest"]
    again = build_py("reproduce", manifest, "--experiment", tmp_path / "again")
    comparison = json.loads((tmp_path / "again" / "comparison.json").read_text())
    checks = {c["what"]: c for c in comparison["checks"]}
    assert checks["settings"]["ok"], again.stdout + again.stderr[-3000:]
