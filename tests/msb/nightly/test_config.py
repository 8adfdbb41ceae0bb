"""The nightly config is read strictly: unknown keys, units without a baseline counterpart and missing files are errors
that name what is wrong, before anything runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from msb.errors import SpecError
from msb.nightly.config import load_config
from msb.project import Project
from tests.support import REPO

UNITS = [
    {"system": "cpu-demo", "benchmark": "resnet50", "scenario": "Offline", "mode": "accuracy", "count": 8},
    {"system": "cpu-demo", "benchmark": "resnet50", "scenario": "Offline", "mode": "performance", "count": 8},
]


def baseline_experiment(root: Path, modes: tuple[str, ...] = ("accuracy", "performance")) -> Path:
    """An experiment whose manifests record the demo system's Offline units (only the fields the config reads)."""
    experiment = root / "baseline"
    for mode in modes:
        spec = {"system": "cpu_demo", "benchmark": "resnet50", "scenario": "Offline", "mode": mode, "compliance": None}
        path = experiment / ".msb" / "manifests" / "closed" / f"{mode}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"schema": 1, "spec": spec, "figures": {}}))
    return experiment


def write_config(root: Path, **changes: object) -> Path:
    (root / "dataset").mkdir(exist_ok=True)
    (root / "model.onnx").write_bytes(b"onnx")
    data: dict[str, object] = {
        "images": ["cpu-v5.1"],
        "units": UNITS,
        "dataset": "dataset",
        "model": "model.onnx",
        "baseline": str(baseline_experiment(root)),
        "tolerance": 20,
        "output": "nights",
    }
    data.update(changes)
    path = root / "night.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_a_valid_config_resolves_paths_from_its_folder(tmp_path: Path, project: Project) -> None:
    config = load_config(project, write_config(tmp_path))
    assert config.images == ("cpu-v5.1",) and [u.mode for u in config.units] == ["accuracy", "performance"]
    assert config.units[0].dataset == tmp_path / "dataset" and config.units[0].count == 8
    assert config.output == tmp_path / "nights" and config.history == tmp_path / "nights" / "history.sqlite"
    assert config.tolerance_pct == 20 and config.no_cache and config.baseline == tmp_path / "baseline"


def test_the_shipped_demo_config_is_valid(tmp_path: Path, project: Project) -> None:
    data = yaml.safe_load((REPO / "nightly" / "demo.yaml").read_text())
    assert data["baseline"] == "previous" and data["images"] == ["cpu-v5.1"]
    # Its own paths name the demo data, made by a command; here the same units with the test's stand-in files.
    path = write_config(tmp_path, units=data["units"], baseline="previous")
    config = load_config(project, path)
    assert len(config.units) == 3 and config.baseline is None


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"tolerence": 5}, "unknown field(s) tolerence"),
        ({"units": [{**UNITS[0], "sample_count": 8}]}, "units.0: unknown field(s) sample_count"),
        ({"images": ["gpu-of-dreams"]}, "unknown image 'gpu-of-dreams'"),
        ({"units": [{**UNITS[0], "mode": "fast"}]}, "units.0.mode: 'fast' is not a mode"),
        ({"units": [UNITS[0], UNITS[0]]}, "listed twice: cpu_demo resnet50 Offline accuracy"),
        ({"units": [{**UNITS[0], "scenario": "Server"}]}, "no resnet50 settings for scenario 'Server'"),
        ({"tolerance": -1}, "tolerance: -1 is negative"),
        ({"images": ["cpu-v5.0"]}, "runs in image 'cpu-v5.1', not rebuilt tonight"),
    ],
)
def test_a_bad_field_is_named(tmp_path: Path, project: Project, changes: dict[str, object], named: str) -> None:
    with pytest.raises(SpecError) as error:
        load_config(project, write_config(tmp_path, **changes))
    assert named in str(error.value)


def test_a_unit_missing_from_the_baseline_is_named(tmp_path: Path, project: Project) -> None:
    path = write_config(tmp_path)
    (tmp_path / "baseline" / ".msb" / "manifests" / "closed" / "performance.json").unlink()
    with pytest.raises(SpecError, match=r"no result for unit.*cpu_demo resnet50 Offline performance"):
        load_config(project, path)


@pytest.mark.parametrize("missing", ["dataset", "model.onnx"])
def test_a_missing_file_is_named(tmp_path: Path, project: Project, missing: str) -> None:
    path = write_config(tmp_path)
    target = tmp_path / missing
    if target.is_dir():
        target.rmdir()
    else:
        target.unlink()
    with pytest.raises(SpecError, match=f"{target} does not exist"):
        load_config(project, path)


def test_a_missing_config_file_is_named(tmp_path: Path, project: Project) -> None:
    with pytest.raises(SpecError, match=f"nightly config {tmp_path / 'nope.yaml'} does not exist"):
        load_config(project, tmp_path / "nope.yaml")


def test_a_baseline_without_manifests_is_refused(tmp_path: Path, project: Project) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(SpecError, match="not an experiment with manifests"):
        load_config(project, write_config(tmp_path, baseline=str(tmp_path / "empty")))


def test_the_command_exits_2_naming_the_key_before_anything_runs(tmp_path: Path) -> None:
    path = write_config(tmp_path, colour="blue")
    result = subprocess.run([sys.executable, "build.py", "nightly", str(path)], cwd=REPO, capture_output=True,
                            text=True, timeout=120)  # fmt: skip
    assert result.returncode == 2 and "unknown field(s) colour" in result.stderr
    assert not (tmp_path / "nights").exists()
