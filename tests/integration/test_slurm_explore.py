"""`build.py explore ... --slurm` against the real one-node cluster (scripts/setup-slurm.sh) and the real image: a
2-point grid as one job array, each task one point on its node, the report written by the job after the array, and
`build.py status --wait` following both; a second submission while the array lives is refused naming it."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.integration.test_docker_matrix import COUNT, inputs  # noqa: F401 (the matrix test's synthetic data and system)
from tests.integration.test_slurm_cluster import build

Inputs = tuple[Path, Path, Path]

pytestmark = [pytest.mark.docker, pytest.mark.slurm]


def test_a_two_point_grid_runs_as_an_array_and_the_job_after_it_writes_the_report(
    cluster: None,
    demo_image: str,
    inputs: Inputs,  # noqa: F811 (the fixture imported above)
    tmp_path: Path,
) -> None:
    system, dataset, model = inputs
    data = yaml.safe_load(system.read_text())
    data["slurm"] = {"time": "0:10:00"}  # the default partition: its node mounts this checkout (every node must)
    described = tmp_path / "cpu_arrays.yaml"
    described.write_text(yaml.safe_dump(data))
    folder = tmp_path / "explore"
    command = ["explore", "--system", str(described), "--benchmark", "resnet50", "--scenario", "Offline",
               "--batch-sizes", "1,8", "--duration-ms", "300", "--dataset", str(dataset), "--model", str(model),
               "--experiment", str(folder), "--count", str(COUNT), "--image", demo_image, "--slurm"]  # fmt: skip
    started = time.monotonic()
    first = build(*command)
    try:
        assert first.returncode == 0, first.stderr[-3000:]
        array_job = (folder / ".msb" / "cluster" / "array.job").read_text().strip()
        again = build(*command)
        assert again.returncode == 2 and f"jobs still queued or running: {array_job}_" in again.stderr, again.stderr
        waited = build("status", str(folder), "--wait", "--poll", "1")
    finally:
        subprocess.run(["scancel", "--name=msb-explore-cpu_demo-resnet50-Offline"], check=False)
    elapsed = time.monotonic() - started
    print(f"\nexplore --slurm: {elapsed:.1f} s wall for 2 points, submission to report")
    assert waited.returncode == 0, waited.stdout + waited.stderr[-3000:]
    assert "2 done, 0 running, 0 pending, 0 failed point(s); report job: done" in waited.stdout, waited.stdout
    summary = (folder / "report" / "summary.md").read_text()
    assert summary.startswith("RECOMMENDED: batch_size: ") and summary.splitlines()[0] in waited.stdout
    rows = list(csv.DictReader((folder / "report" / "results.csv").open()))
    # Both points measured (LoadGen's verdict on a 300 ms run depends on the shared cores' speed against the
    # description's target: VALID or INVALID is LoadGen's business here, a refused or failed point is ours).
    assert [r["point"] for r in rows] == ["bs1", "bs8"] and all(r["status"] in ("VALID", "INVALID") for r in rows), rows
    for index, row in enumerate(rows):
        manifest = json.loads((folder / row["manifest"]).read_text())
        assert manifest["node"] == os.uname().nodename and manifest["slurm_job_id"] == f"{array_job}_{index}"
        assert manifest["spec"]["backend"]["batch_size"] == int(row["batch_size"])
        assert manifest["spec"]["loadgen"]["min_duration_ms"] == 300
    scontrol = subprocess.run(["scontrol", "-o", "show", "job", f"{array_job}_0"], capture_output=True, text=True)
    assert "TimeLimit=00:10:00" in scontrol.stdout and "OverSubscribe=NO" in scontrol.stdout, scontrol.stdout
    # The same command again: every point done, nothing submitted.
    last = build(*command)
    assert last.returncode == 0 and "every point done and reported, not submitted" in last.stderr, last.stderr
