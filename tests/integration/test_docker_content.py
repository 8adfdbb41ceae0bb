"""Content digests with the real engine: two no-cache builds of `cpu` have one digest (build.py image --verify), the
label states the tagged image's own digest, and a changed harness file gives another digest whose diff names it.

Each test tags under a repository of its own and removes those tags afterwards (the engine is shared)."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from msb.engine import DockerEngine
from msb.image import builder
from msb.image.content import ContentDiff, diff, diff_lines
from msb.labels import LABEL_CONTENT
from msb.project import Project
from tests.integration.test_docker_integration import build_py, copy_project

pytestmark = pytest.mark.docker


@pytest.fixture
def repository(engine: None) -> Iterator[str]:
    name = f"msbtest-content-{uuid.uuid4().hex[:8]}"
    yield name
    tags = subprocess.run(
        ["docker", "images", f"{name}/cpu", "--format", "{{.Repository}}:{{.Tag}}"], capture_output=True, text=True
    ).stdout.split()
    if tags:
        subprocess.run(["docker", "rmi", *tags], capture_output=True)


def test_two_no_cache_builds_of_cpu_have_one_content_digest(cpu_image: str, repository: str) -> None:
    result = build_py("image", "cpu", "--verify", "--repository", repository)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "verified" in result.stderr
    # The label states the digest of the very image it is on (a LABEL step adds no layer).
    final = f"{repository}/cpu:latest"
    label = DockerEngine().image_labels(final)[LABEL_CONTENT]
    assert label == f"sha256:{builder.image_content(DockerEngine(), final).sha256}"
    assert f"content {label}" in result.stderr.replace("\n", " ")
    left = subprocess.run(["docker", "images", f"{repository}/cpu", "--format", "{{.Tag}}"], capture_output=True)
    assert b"verify-" not in left.stdout  # the rebuild's temporary image is gone


def test_a_changed_harness_file_changes_the_digest_and_the_diff_names_it(
    cpu_image: str, repository: str, tmp_path: Path
) -> None:
    engine = DockerEngine()
    before = builder.image_content(engine, cpu_image)
    copy = copy_project(tmp_path)
    layout = copy / "harness" / "contract" / "layout.py"
    layout.write_text(layout.read_text() + "# changed after the build\n")
    after = builder.build(Project(copy), "cpu", engine, False, lambda line: None, repository)
    assert after.content.sha256 != before.sha256
    found = diff(before, after.content)
    assert found == ContentDiff(added=[], removed=[], changed=["opt/msb/harness/contract/layout.py"])
    assert diff_lines(found) == ["~ opt/msb/harness/contract/layout.py"]
