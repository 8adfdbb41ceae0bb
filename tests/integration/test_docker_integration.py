"""End to end with the real Docker engine: build the `cpu` image and the demo system's (`cpu-v5.1`), run accuracy and
performance into the submission tree (v5.1, and v6.1 in `cpu`), check owners, interruptions, GPU refusal and the layer
cache.

These need a running engine (`make test` starts one). Set MSB_SKIP_DOCKER=1 to skip them on a machine without one;
otherwise a missing engine fails the suite rather than hiding these tests.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from msb.descriptions.rounds import load_round
from msb.synthetic.imagenet import write_dataset, write_model
from tests.support import REPO

SYSTEM = "cpu_demo"
RESULTS = Path("closed/MSB/results") / SYSTEM / "resnet50"
N_IMAGES = 24

pytestmark = pytest.mark.docker


def build_py(*args: str, cwd: Path = REPO, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "build.py", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="session")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("imagenet")
    write_dataset(root / "dataset", N_IMAGES)
    model = write_model(root / "model" / "model.onnx")
    for path in [root, *root.rglob("*")]:  # the container's unprivileged uid reads them
        path.chmod(0o755 if path.is_dir() else 0o644)
    return root / "dataset", model


def run(experiment: Path, data: tuple[Path, Path], *extra: str, scenario: str = "Offline", mode: str = "accuracy"):
    dataset, model = data
    return build_py(
        "run", "--system", extra[0] if extra and extra[0].endswith(".yaml") else "cpu-demo",
        "--benchmark", "resnet50", "--scenario", scenario, "--mode", mode,
        "--dataset", str(dataset), "--model", str(model), "--experiment", str(experiment),
        *[e for e in extra if not e.endswith(".yaml")],
    )  # fmt: skip


def test_image_explains_itself(cpu_image: str) -> None:
    result = subprocess.run(["docker", "run", "--rm", cpu_image, "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert "run" in result.stdout
    labels = subprocess.run(
        ["docker", "image", "inspect", "-f", "{{json .Config.Labels}}", cpu_image], capture_output=True, text=True
    ).stdout
    for key in ("org.opencontainers.image.revision", "io.mlperf-builder.lock-sha256", "io.mlperf-builder.base-digest"):
        assert key in labels


def test_default_user_is_unprivileged_and_can_run_the_harness(cpu_image: str) -> None:
    """`docker run IMAGE ...` by hand, with no --user, runs as uid 15000 in group 1500, never root."""
    config_user = subprocess.run(
        ["docker", "image", "inspect", "-f", "{{.Config.User}}", cpu_image], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert config_user == "15000:1500"
    ids = subprocess.run(
        ["docker", "run", "--rm", "--entrypoint", "sh", cpu_image, "-c", "id -u; id -g; echo $HOME"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ids.returncode == 0, ids.stderr
    assert ids.stdout.split() == ["15000", "1500", "/tmp"]
    # What that user writes to at run time (besides the mounted experiment) is writable to it.
    probe = "for d in $HOME /work /opt/msb/cache; do touch $d/probe && rm $d/probe || exit 1; done"
    writes = subprocess.run(
        ["docker", "run", "--rm", "--entrypoint", "sh", cpu_image, "-c", probe], capture_output=True, text=True
    )
    assert writes.returncode == 0, writes.stderr
    help_ = subprocess.run(["docker", "run", "--rm", cpu_image, "--help"], capture_output=True, text=True, check=False)
    assert help_.returncode == 0, help_.stderr
    labels = subprocess.run(
        ["docker", "image", "inspect", "-f", "{{json .Config.Labels}}", cpu_image], capture_output=True, text=True
    ).stdout
    assert '"io.mlperf-builder.uid":"15000"' in labels


def test_accuracy_run_fills_the_tree_owned_by_the_invoking_user(demo_image: str, data, tmp_path: Path) -> None:
    experiment = tmp_path / "exp"
    result = run(experiment, data, "--image", demo_image)
    assert result.returncode == 0, result.stderr[-3000:]
    accuracy = experiment / RESULTS / "Offline" / "accuracy"
    assert (accuracy / "accuracy.txt").read_text().strip().splitlines()[0] == (
        f"accuracy=100.000%, good={N_IMAGES}, total={N_IMAGES}"
    )
    for name in ("mlperf_log_summary.txt", "mlperf_log_detail.txt", "mlperf_log_accuracy.json"):
        assert (accuracy / name).is_file()
    root = experiment / "closed" / "MSB"
    measurements = root / "measurements" / SYSTEM / "resnet50" / "Offline"
    assert {p.name for p in measurements.iterdir()} >= {
        "user.conf",
        "README.md",
        f"{SYSTEM}_onnxruntime-cpu_Offline.json",
    }
    assert (root / "systems" / f"{SYSTEM}.json").is_file()
    assert (root / "code" / "resnet50" / "onnxruntime-cpu" / "README.md").is_file()
    for path in [root, *root.rglob("*")]:
        assert path.stat().st_uid == os.getuid(), path
        assert path.stat().st_gid == 1500, path


def test_performance_run_writes_run_1(demo_image: str, data, tmp_path: Path) -> None:
    experiment = tmp_path / "exp"
    result = run(experiment, data, "--image", demo_image, mode="performance")
    assert result.returncode == 0, result.stderr[-3000:]
    # The harness's stdin watcher must not stop the interpreter from exiting cleanly.
    assert "Fatal Python error" not in result.stdout + result.stderr
    perf = experiment / RESULTS / "Offline" / "performance" / "run_1"
    summary = (perf / "mlperf_log_summary.txt").read_text()
    assert "Samples per second" in summary
    assert (perf / "mlperf_log_detail.txt").is_file()


def test_a_v61_run_in_the_cpu_image_fills_the_v6_tree_with_v61_seeds(cpu_image: str, data, tmp_path: Path) -> None:
    """The demo machine in round v6.1 runs in `cpu` (LoadGen 6.0.17): v6 layout, and LoadGen applied v6.1's seeds."""
    dataset, model = data
    experiment = tmp_path / "exp"
    result = build_py(
        "run", "--system", "cpu-demo-v61", "--benchmark", "resnet50", "--scenario", "Offline", "--mode", "accuracy",
        "--dataset", str(dataset), "--model", str(model), "--experiment", str(experiment), "--image", cpu_image,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    root = experiment / "closed" / "MSB"
    scenario = root / "results" / SYSTEM / "resnet50" / "Offline"
    assert {p.name for p in scenario.iterdir()} == {"accuracy", "user.conf", "README.md", "measurements.json"}
    assert (root / "src" / "resnet50" / "onnxruntime-cpu" / "README.md").is_file()
    assert not (root / "measurements").exists() and not (root / "code").exists()
    unit = "closed/MSB/results/cpu_demo/resnet50/Offline/accuracy"
    manifest = json.loads((experiment / ".msb" / "manifests" / f"{unit}.json").read_text())
    assert manifest["loadgen"]["loadgen_version"].startswith("6.0.17 ")
    assert manifest["loadgen"]["seeds"] == load_round("v6.1").seeds.as_dict()


def long_system(tmp_path: Path, name: str) -> Path:
    """The demo system, renamed so this test finds and removes only its own container, with a performance run long
    enough to be interrupted midway. (Other runs, a user's included, may be going on beside the tests.)"""
    data = yaml.safe_load((REPO / "systems" / "cpu-demo.yaml").read_text())
    data["name"] = name
    # SingleStream runs for its whole min_duration whatever the throughput (Offline may finish early).
    data["benchmarks"]["resnet50"]["scenarios"]["SingleStream"] = {"target_latency_ms": 0.2, "min_duration_ms": 60000}
    path = tmp_path / "long.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def own_containers(marker: str, running_only: bool = False) -> list[str]:
    """IDs of the run containers whose name carries `marker` (build.py names them msb-<system>-...)."""
    flags = ["-q"] if running_only else ["-aq"]
    return subprocess.run(
        ["docker", "ps", *flags, "--filter", "label=io.mlperf-builder.run", "--filter", f"name={marker}"],
        capture_output=True,
        text=True,
    ).stdout.split()


def wait_for_container(marker: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ids = own_containers(marker, running_only=True)
        if ids:
            return ids[0]
        time.sleep(0.2)
    raise AssertionError("the run's container never started")


@pytest.fixture
def marker() -> Iterator[str]:
    """A system name unique to this test; its containers are removed afterwards, and no one else's."""
    name = f"killtest{uuid.uuid4().hex[:8]}"
    yield name
    for cid in own_containers(name):
        subprocess.run(["docker", "rm", "-f", cid], capture_output=True)


@pytest.mark.parametrize("how", ["SIGTERM to build.py", "docker kill", "SIGKILL to build.py"])
def test_a_run_killed_midway_leaves_nothing_behind(
    demo_image: str, data, tmp_path: Path, how: str, marker: str
) -> None:
    experiment = tmp_path / "exp"
    dataset, model = data
    process = subprocess.Popen(
        [sys.executable, "build.py", "run", "--system", str(long_system(tmp_path, marker)), "--benchmark", "resnet50",
         "--scenario", "SingleStream", "--mode", "performance", "--dataset", str(dataset), "--model", str(model),
         "--experiment", str(experiment), "--image", demo_image],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    container = wait_for_container(marker)
    time.sleep(4)  # LoadGen is under way by now
    if how == "docker kill":
        subprocess.run(["docker", "kill", container], capture_output=True, check=True)
    elif how == "SIGKILL to build.py":
        process.kill()  # no handler runs: the container learns it from its stdin closing
    else:
        process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)
    assert process.returncode != 0, output
    assert "results:" not in output  # the harness never got to place results
    deadline = time.monotonic() + 15
    while own_containers(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not own_containers(marker), "the container outlived build.py"
    placed = [p for p in (experiment / "closed").rglob("*") if p.is_file()] if (experiment / "closed").exists() else []
    assert placed == []
    if how != "docker kill":  # a SIGKILLed harness cannot clean up: its next run removes the stale staging
        assert not list((experiment / ".staging").glob("*/loadgen")), "the harness left its staging"
    if how == "SIGKILL to build.py":
        # The same command then completes (shortened here), and names what the dead run left.
        short = yaml.safe_load(long_system(tmp_path, marker).read_text())
        short["benchmarks"]["resnet50"]["scenarios"]["SingleStream"]["min_duration_ms"] = 500
        (tmp_path / "long.yaml").write_text(yaml.safe_dump(short))
        result = run(
            experiment,
            data,
            str(tmp_path / "long.yaml"),
            "--image",
            demo_image,
            scenario="SingleStream",
            mode="performance",
        )
        assert result.returncode == 0, result.stderr[-3000:]
        assert "cleanup: removed .msb/runs/" in result.stderr
        assert list((experiment / "closed").rglob("mlperf_log_summary.txt"))


def test_gpus_without_nvidia_runtime_is_an_error_not_a_cpu_run(demo_image: str, data, tmp_path: Path) -> None:
    experiment = tmp_path / "exp"
    result = run(experiment, data, "--gpus", "all", "--image", demo_image)
    assert result.returncode == 2
    assert "no NVIDIA runtime" in result.stderr
    assert not (experiment / "closed").exists()


def test_group_setup_tolerates_a_base_that_already_has_the_gid(cpu_image: str) -> None:
    dockerfile = (REPO / "tests" / "golden" / "Dockerfile.cpu").read_text()
    start = dockerfile.index("RUN getent group")
    line = dockerfile[start : dockerfile.index("\n\n", start)].removeprefix("RUN ").replace("\\\n", " ")
    base = "msb/debian-bookworm-python:bookworm-minbase-py311"
    script = f"groupadd --gid 1500 existing && {line} && stat -c %g:%a /work"
    result = subprocess.run(["docker", "run", "--rm", base, "sh", "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1500:2775"


def test_changing_only_the_harness_rebuilds_only_the_final_layers(cpu_image: str, tmp_path: Path) -> None:
    copy = copy_project(tmp_path)
    # A first build of the copy settles which cached chain the engine follows (other tests' no-cache rebuilds leave
    # sibling chains that the engine may prefer); the change is then measured against that build.
    first = build_py("image", "cpu", "--repository", "msbtest", cwd=copy)
    assert first.returncode == 0, first.stderr[-3000:]
    (copy / "harness" / "touched.py").write_text("# a harness change\n")
    result = build_py("image", "cpu", "--repository", "msbtest", cwd=copy)
    try:
        assert result.returncode == 0, result.stderr[-3000:]
        steps = result.stderr.split("Step ")[1:]
        harness_step = next(i for i, s in enumerate(steps) if "COPY harness/" in s)
        assert harness_step > 0
        assert all(
            "Using cache" in s for s in steps[:harness_step] if not s.split(":", 1)[1].strip().startswith("FROM")
        )
        assert "Using cache" not in steps[harness_step]
    finally:
        remove_test_images()


def remove_test_images() -> None:
    """Every tag the copied project's builds made (latest and the copy's revision, `unknown` outside git)."""
    tags = subprocess.run(
        ["docker", "images", "msbtest/cpu", "--format", "{{.Repository}}:{{.Tag}}"], capture_output=True, text=True
    ).stdout.split()
    if tags:
        subprocess.run(["docker", "rmi", "-f", *tags], capture_output=True)


def copy_project(tmp_path: Path) -> Path:
    """A copy of the tool to change without touching the repo; cached wheels are hard-linked, not re-downloaded."""
    copy = tmp_path / "project"
    copy.mkdir()
    for name in ("build.py", "pyproject.toml"):
        shutil.copy2(REPO / name, copy / name)
    for name in ("msb", "harness", "templates", "images", "systems", "rounds"):
        shutil.copytree(REPO / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / ".cache" / "wheels", copy / ".cache" / "wheels", copy_function=os.link)
    return copy


def test_failed_build_exits_non_zero_with_the_last_log_lines(cpu_image: str, tmp_path: Path) -> None:
    copy = copy_project(tmp_path)
    partial = copy / "templates" / "partials" / "harness.j2"
    partial.write_text(partial.read_text() + "RUN echo 'about to fail' && false\n")
    result = build_py("image", "cpu", "--repository", "msbtest", cwd=copy)
    remove_test_images()
    assert result.returncode == 2
    assert "docker build failed" in result.stderr
    assert "last lines of the build log" in result.stderr and "about to fail" in result.stderr


def test_no_engine_answering_is_a_clear_error(tmp_path: Path) -> None:
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no-such.sock"}
    result = subprocess.run(
        [sys.executable, "build.py", "image", "cpu"], cwd=REPO, capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 2
    assert "no Docker engine answers" in result.stderr and "make setup" in result.stderr
