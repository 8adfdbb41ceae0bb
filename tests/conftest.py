"""Shared test options and fixtures."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from msb.project import Project

REPO = Path(__file__).resolve().parent.parent


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite golden files from the current render (review the diff)",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


# The TensorRT versions the tensorrt backend is written for (images tensorrt-8.6.1 and tensorrt-10): its tests run
# against a stand-in of each.
TENSORRT_VERSIONS = ("8.6.1", "10.14.1")


@pytest.fixture(params=TENSORRT_VERSIONS)
def trt_version(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def project() -> Project:
    return Project(REPO)


@pytest.fixture(scope="session")
def engine() -> None:
    """A running Docker engine; a missing one fails the Docker tests unless MSB_SKIP_DOCKER=1 says to skip them."""
    if subprocess.run(["docker", "info"], capture_output=True, check=False).returncode != 0:
        if os.environ.get("MSB_SKIP_DOCKER") == "1":
            pytest.skip("no Docker engine and MSB_SKIP_DOCKER=1")
        pytest.fail("no Docker engine answers: run `make setup` (or set MSB_SKIP_DOCKER=1 to skip these tests)")


@pytest.fixture(scope="session")
def cluster() -> None:
    """A Slurm cluster whose node takes jobs; a missing one fails the Slurm tests unless MSB_SKIP_SLURM=1."""
    done = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, check=False)
    if done.returncode != 0 or not {"idle", "mixed", "allocated"} & set(done.stdout.split()):
        if os.environ.get("MSB_SKIP_SLURM") == "1":
            pytest.skip("no Slurm cluster answers and MSB_SKIP_SLURM=1")
        pytest.fail("no Slurm cluster answers: run scripts/setup-slurm.sh (or set MSB_SKIP_SLURM=1 to skip these)")


# The test cluster's container nodes (scripts/setup-slurm-nodes.sh) and the partition each one alone serves.
CLUSTER_NODES = {"msb-node1": "edge", "msb-node2": "datacenter"}


@pytest.fixture(scope="session")
def cluster_nodes(cluster: None) -> dict[str, str]:
    """The cluster's container nodes, node -> partition; missing ones fail the tests unless MSB_SKIP_SLURM=1."""
    done = subprocess.run(["sinfo", "-h", "-N", "-o", "%N %P"], capture_output=True, text=True, check=False)
    rows = {tuple(line.split()[:2]) for line in done.stdout.splitlines()}
    if not set(CLUSTER_NODES.items()) <= rows:
        if os.environ.get("MSB_SKIP_SLURM") == "1":
            pytest.skip("the cluster has no container nodes and MSB_SKIP_SLURM=1")
        pytest.fail("the cluster lacks msb-node1 (edge) and msb-node2 (datacenter): run scripts/setup-slurm-nodes.sh")
    return dict(CLUSTER_NODES)


# The Docker tests build under this repository. The engine may be shared: MSB_TEST_REPOSITORY keeps a test session's
# builds off the msb/ tags that other checkouts and users run.
TEST_REPOSITORY = os.environ.get("MSB_TEST_REPOSITORY", "msb")


def build_image(name: str) -> str:
    """Build image NAME through the real CLI (cached layers make this quick); its ID, since other checkouts sharing
    the engine may move the tag to their own build meanwhile."""
    result = subprocess.run(
        [sys.executable, "build.py", "image", name, "--repository", TEST_REPOSITORY],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    built = re.search(
        rf"\bbuilt ([0-9a-f]{{12,}}) as {re.escape(f'{TEST_REPOSITORY}/{name}')}:latest", result.stdout + result.stderr
    )
    assert built, (result.stdout + result.stderr)[-3000:]
    return built.group(1)


@pytest.fixture(scope="session")
def cpu_image(engine: None) -> str:
    """The `cpu` image (the current round's), built once per session."""
    return build_image("cpu")


@pytest.fixture(scope="session")
def demo_image(engine: None) -> str:
    """The image systems/cpu-demo.yaml names, built once per session: a run refuses an image of another round than
    its system's, so the demo's runs need that one (`cpu` follows the newest round, the demo stays in v5.1)."""
    return build_image(yaml.safe_load((REPO / "systems" / "cpu-demo.yaml").read_text())["image"])
