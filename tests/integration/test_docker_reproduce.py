"""`build.py reproduce` end to end on the real `cpu` image: a demo result reproduces, changed data is refused, a
planted regression is reported, a missing image is named and `--rebuild` makes it again."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from msb.synthetic.imagenet import write_dataset, write_model
from tests.support import REPO

UNIT = "closed/MSB/results/cpu_demo/resnet50/Offline"
COUNT = 32

pytestmark = pytest.mark.docker


def build_py(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "build.py", *map(str, args)], cwd=REPO, capture_output=True, text=True, timeout=900
    )


@pytest.fixture(scope="module")
def original(demo_image: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo system's Offline matrix (accuracy, performance, TEST01, TEST04), each unit with its manifest; the
    accuracy logs truncated, their full copies kept outside the tree."""
    root = tmp_path_factory.mktemp("reproduce")
    write_dataset(root / "data" / "dataset", COUNT)
    write_model(root / "data" / "model.onnx")
    for path in [root, *root.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    result = build_py(
        "run", "--system", "cpu-demo", "--benchmark", "resnet50", "--scenario", "Offline",
        "--dataset", root / "data" / "dataset", "--model", root / "data" / "model.onnx",
        "--experiment", root / "exp", "--count", str(COUNT), "--image", demo_image,
    )  # fmt: skip
    assert "4 run(s) done" in result.stderr, result.stderr[-3000:]
    return root


def manifest(root: Path, unit: str) -> Path:
    return root / "exp" / ".msb" / "manifests" / f"{unit}.json"


def test_a_result_has_a_manifest_and_its_readme_names_it(original: Path) -> None:
    data = json.loads(manifest(original, f"{UNIT}/accuracy").read_text())
    assert data["figures"]["accuracy"] == f"accuracy=100.000%, good={COUNT}, total={COUNT}"
    assert data["image"]["id"].startswith("sha256:") and data["system"]["name"] == "cpu_demo"
    assert data["loadgen"]["seeds"]["qsl_rng_seed"] == 1780908523862526354
    assert len(data["dataset"]["files"]) == COUNT + 1 and data["model"]["sha256"]
    assert data["docker_run"][:2] == ["docker", "run"]
    readme = (original / "exp/closed/MSB/measurements/cpu_demo/resnet50/Offline/README.md").read_text()
    assert "## Provenance" in readme and f"{UNIT}/accuracy" in readme and f"{UNIT}/performance/run_1" in readme


def test_an_accuracy_result_reproduces_exactly(original: Path, tmp_path: Path) -> None:
    result = build_py("reproduce", original / "exp" / UNIT / "accuracy", "--experiment", tmp_path / "again")
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert result.stdout.startswith(f"reproduced {UNIT}/accuracy")
    comparison = json.loads((tmp_path / "again" / "comparison.json").read_text())
    assert comparison["reproduced"] and {c["what"] for c in comparison["checks"]} >= {"accuracy log records"}
    assert (tmp_path / "again" / "comparison.md").is_file()


def test_a_planted_regression_is_reported_with_exit_1(original: Path, tmp_path: Path) -> None:
    planted = tmp_path / "planted.json"
    data = json.loads(manifest(original, f"{UNIT}/performance/run_1").read_text())
    data["figures"]["value"] *= 10  # the recorded result was ten times faster than what the system does now
    planted.write_text(json.dumps(data))
    # A manifest outside its experiment: name the unit's experiment through a copy of the layout.
    target = original / "exp" / ".msb" / "manifests" / "planted" / "x.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    data["unit"] = "planted/x"
    target.write_text(json.dumps(data))
    result = build_py("reproduce", target, "--experiment", tmp_path / "again")
    assert result.returncode == 1, result.stdout + result.stderr[-3000:]
    assert result.stdout.startswith("DIFFERS: Samples per second")


def test_changed_data_is_refused_naming_the_file(original: Path, tmp_path: Path) -> None:
    copy = tmp_path / "exp-copy"
    subprocess.run(["cp", "-a", original / "exp", copy], check=True)
    data = json.loads(manifest(original, f"{UNIT}/accuracy").read_text())
    dataset = Path(data["mounts"]["/data/dataset"])
    labels = (dataset / "val_map.txt").read_text()
    try:
        (dataset / "val_map.txt").write_text(labels.replace(" 0\n", " 1\n", 1))
        result = build_py("reproduce", copy / UNIT / "accuracy", "--experiment", tmp_path / "again")
    finally:
        (dataset / "val_map.txt").write_text(labels)
    assert result.returncode == 2
    assert "val_map.txt has changed since the result was made" in result.stderr
    assert not (tmp_path / "again").exists()


def test_a_missing_image_is_named_and_rebuild_makes_it_again(original: Path, tmp_path: Path) -> None:
    data = json.loads(manifest(original, f"{UNIT}/accuracy").read_text())
    data["image"]["id"] = "sha256:" + "0" * 64  # an image that is gone
    target = original / "exp" / ".msb" / "manifests" / "gone" / "accuracy.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    data["unit"] = f"{UNIT}/accuracy"
    target.write_text(json.dumps(data))
    result = build_py("reproduce", target, "--experiment", tmp_path / "again")
    assert result.returncode == 2 and "is no longer here" in result.stderr and "--rebuild" in result.stderr
    rebuilt = build_py("reproduce", target, "--experiment", tmp_path / "rebuilt", "--rebuild")
    if data["image"]["labels"]["org.opencontainers.image.revision"].endswith("-dirty"):
        # Built from a working tree with changes: there is no revision to rebuild from, and it says so.
        assert rebuilt.returncode == 2 and "uncommitted code" in rebuilt.stderr
    else:
        assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr[-3000:]
        assert rebuilt.stdout.startswith(f"reproduced {UNIT}/accuracy")


def test_a_compliance_test_reproduces_against_the_results_it_verified(original: Path, tmp_path: Path) -> None:
    result = build_py("reproduce", original / "exp" / UNIT.replace("results", "compliance") / "TEST01",
                      "--experiment", tmp_path / "again")  # fmt: skip
    assert result.returncode in (0, 1), result.stdout + result.stderr[-3000:]  # its timing verdict follows the noise
    checks = {c["what"]: c for c in json.loads((tmp_path / "again" / "comparison.json").read_text())["checks"]}
    assert "verify_accuracy: TEST PASS" in checks["verification"]["original"]
    assert "verify_accuracy: TEST PASS" in checks["verification"]["reproduced"]
    assert checks["settings"]["ok"] and checks["LoadGen seeds"]["ok"]
