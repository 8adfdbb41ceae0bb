"""Image archives with the real engine: `build.py image cpu --export DIR` writes the archive and its record; with the
tag gone, ensure_image loads the archive back as the same image; a wrong digest and an altered archive are refused.

The tests tag under a repository of their own and remove those tags afterwards (the engine is shared); the image
itself stays, as other tags (the session's cpu image) hold it."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from msb.engine import DockerEngine
from msb.errors import MsbError
from msb.hashing import file_sha256
from msb.image.archive import ensure_image
from msb.labels import LABEL_CONTENT
from tests.integration.test_docker_integration import build_py

pytestmark = pytest.mark.docker


@dataclass(frozen=True)
class Exported:
    ref: str
    archive: Path
    record: dict[str, object]


def untag(repository: str) -> None:
    listing = ["docker", "images", f"{repository}/cpu", "--format", "{{.Repository}}:{{.Tag}}"]
    tags = subprocess.run(listing, capture_output=True, text=True).stdout.split()
    if tags:
        subprocess.run(["docker", "rmi", *tags], capture_output=True)


@pytest.fixture(scope="module")
def exported(engine: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exported]:
    repository = f"msbtest-archive-{uuid.uuid4().hex[:8]}"
    folder = tmp_path_factory.mktemp("archives")
    try:
        result = build_py("image", "cpu", "--repository", repository, "--export", str(folder))
        assert result.returncode == 0, result.stderr[-3000:]
        ref = f"{repository}/cpu:latest"
        digest = DockerEngine().image_labels(ref)[LABEL_CONTENT]
        archive = folder / f"sha256-{digest.removeprefix('sha256:')}.docker.tar"
        assert f"exported {ref} to {archive}" in result.stderr.replace("\n", "")
        yield Exported(ref, archive, json.loads(archive.with_suffix("").with_suffix(".json").read_text()))
    finally:
        untag(repository)


def test_export_writes_the_archive_and_its_record(exported: Exported) -> None:
    engine = DockerEngine()
    assert exported.record == {
        "tags": [exported.ref],
        "image_id": engine.image_id(exported.ref),
        "content_sha256": engine.image_labels(exported.ref)[LABEL_CONTENT],
        "archive": exported.archive.name,
        "archive_sha256": file_sha256(exported.archive),
        "archive_bytes": exported.archive.stat().st_size,
    }


def test_a_node_without_the_tag_loads_the_archive_as_the_same_image(exported: Exported) -> None:
    subprocess.run(["docker", "rmi", exported.ref], capture_output=True, check=True)
    engine = DockerEngine()
    assert engine.image_id(exported.ref) is None
    image_id = ensure_image(engine, exported.ref, str(exported.record["content_sha256"]), exported.archive.parent)
    assert image_id == exported.record["image_id"] == engine.image_id(exported.ref)
    assert engine.image_labels(exported.ref)[LABEL_CONTENT] == exported.record["content_sha256"]


def test_a_wrong_digest_is_refused_naming_both(exported: Exported) -> None:
    wrong = "sha256:" + "0" * 64
    with pytest.raises(MsbError) as raised:
        ensure_image(DockerEngine(), exported.ref, wrong, exported.archive.parent)
    assert f"should have content {wrong}, found {exported.record['content_sha256']}" in str(raised.value)
    assert f"no archive at {exported.archive.parent}/sha256-{'0' * 64}.docker.tar" in str(raised.value)


def test_an_altered_archive_is_refused_and_nothing_is_loaded(exported: Exported, tmp_path: Path) -> None:
    copy = tmp_path / exported.archive.name
    shutil.copy(exported.archive, copy)
    shutil.copy(exported.archive.with_suffix("").with_suffix(".json"), tmp_path)
    with copy.open("r+b") as handle:
        handle.seek(copy.stat().st_size // 2)
        byte = handle.read(1)
        handle.seek(-1, 1)
        handle.write(bytes([byte[0] ^ 0x01]))
    ref = exported.ref.replace(":latest", ":altered")
    with pytest.raises(MsbError, match=f"archive {copy} is .*: it was altered or cut short"):
        ensure_image(DockerEngine(), ref, str(exported.record["content_sha256"]), tmp_path)
    assert DockerEngine().image_id(ref) is None
