"""Shared test options and fixtures."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

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
def cpu_image(engine: None) -> str:
    """The `cpu` image, built once per session through the real CLI (cached layers make this quick). Named by the ID
    this build made: other checkouts sharing the engine may move msb/cpu:latest to their own build meanwhile."""
    result = subprocess.run(
        [sys.executable, "build.py", "image", "cpu"], cwd=REPO, capture_output=True, text=True, timeout=900, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    built = re.search(r"\bbuilt ([0-9a-f]{12,}) as msb/cpu:latest", result.stdout + result.stderr)
    assert built, (result.stdout + result.stderr)[-3000:]
    return built.group(1)
