"""msb/image/archive.py on the image store's stand-in: what export writes and keeps, and what ensure_image runs,
loads or refuses on a node (the real save and load: test_docker_archive.py)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from msb.errors import MsbError
from msb.hashing import file_sha256
from msb.image.archive import ensure_image, export_image
from msb.labels import LABEL_CONTENT
from tests.support.fake_engine import FakeImages

REF = "msb/cpu:latest"
GOOD = "a" * 64
OTHER = "b" * 64
GOOD_ID = "sha256:" + "1" * 64
OTHER_ID = "sha256:" + "2" * 64


def store(digest: str = GOOD, image_id: str = GOOD_ID) -> FakeImages:
    images = FakeImages()
    images.add(REF, image_id, {LABEL_CONTENT: f"sha256:{digest}"})
    return images


def exported(tmp_path: Path) -> Path:
    """The submit host's export of the good image into tmp_path/archives."""
    return export_image(store(), REF, tmp_path / "archives")


def test_export_names_the_archive_by_content_and_records_it(tmp_path: Path) -> None:
    archive = exported(tmp_path)
    assert archive == tmp_path / "archives" / f"sha256-{GOOD}.docker.tar"
    record = json.loads((tmp_path / "archives" / f"sha256-{GOOD}.json").read_text())
    assert record == {
        "tags": [REF],
        "image_id": GOOD_ID,
        "content_sha256": f"sha256:{GOOD}",
        "archive": archive.name,
        "archive_sha256": file_sha256(archive),
        "archive_bytes": archive.stat().st_size,
    }
    assert sorted(p.name for p in archive.parent.iterdir()) == [archive.name, f"sha256-{GOOD}.json"]  # no temp left


def test_export_keeps_an_archive_already_there(tmp_path: Path) -> None:
    exported(tmp_path)
    images = store()
    export_image(images, REF, tmp_path / "archives")
    assert images.saved == []


def test_export_refuses_an_image_without_content_label(tmp_path: Path) -> None:
    images = FakeImages()
    images.add(REF, GOOD_ID, {})
    with pytest.raises(MsbError, match=f"image {REF} has no content label") as raised:
        export_image(images, REF, tmp_path)
    assert "build.py image NAME" in raised.value.fix


def test_an_image_with_the_expected_digest_runs_as_it_is(tmp_path: Path) -> None:
    images = store()
    assert ensure_image(images, REF, f"sha256:{GOOD}", tmp_path) == GOOD_ID
    assert ensure_image(images, REF, GOOD, None) == GOOD_ID  # bare hex too
    assert ensure_image(images, REF, None, None) == GOOD_ID  # no digest asked: the image as it is
    assert images.loaded == []


def test_a_missing_image_is_loaded_from_its_archive(tmp_path: Path) -> None:
    archive = exported(tmp_path)
    node = FakeImages()
    assert ensure_image(node, REF, f"sha256:{GOOD}", archive.parent) == GOOD_ID
    assert node.loaded == [archive]


def test_an_image_of_another_digest_is_replaced_from_the_archive(tmp_path: Path) -> None:
    archive = exported(tmp_path)
    node = store(OTHER, OTHER_ID)
    assert ensure_image(node, REF, f"sha256:{GOOD}", archive.parent) == GOOD_ID
    assert node.image_id(REF) == GOOD_ID


def test_another_digest_without_archive_names_node_image_both_digests_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(MsbError) as raised:
        ensure_image(store(OTHER, OTHER_ID), REF, f"sha256:{GOOD}", tmp_path)
    message = str(raised.value)
    node = socket.gethostname()
    assert f"node {node}: image {REF} should have content sha256:{GOOD}, found sha256:{OTHER}" in message
    assert f"no archive at {tmp_path}/sha256-{GOOD}.docker.tar" in message
    assert "build.py image NAME --export DIR" in raised.value.fix


def test_a_missing_image_without_archive_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MsbError, match="found no such image; no archive folder was given"):
        ensure_image(FakeImages(), REF, GOOD, None)
    with pytest.raises(MsbError, match="no content digest says which archive"):
        ensure_image(FakeImages(), REF, None, tmp_path)


def test_an_altered_archive_is_refused_before_it_is_loaded(tmp_path: Path) -> None:
    archive = exported(tmp_path)
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0x01
    archive.write_bytes(bytes(data))
    node = FakeImages()
    with pytest.raises(MsbError, match=f"archive {archive} is .* with sha256 {file_sha256(archive)}; .* altered"):
        ensure_image(node, REF, GOOD, archive.parent)
    assert node.loaded == []


def test_an_archive_without_its_record_is_refused(tmp_path: Path) -> None:
    archive = exported(tmp_path)
    archive.with_name(f"sha256-{GOOD}.json").unlink()
    with pytest.raises(MsbError, match=r"has no record .*cannot be checked"):
        ensure_image(FakeImages(), REF, GOOD, archive.parent)


def test_an_archive_holding_another_image_than_its_name_is_refused(tmp_path: Path) -> None:
    # Named and recorded for GOOD, but what loads carries OTHER: the label is asked of the engine after the load.
    archive = export_image(store(OTHER, OTHER_ID), REF, tmp_path)
    renamed = archive.with_name(f"sha256-{GOOD}.docker.tar")
    archive.rename(renamed)
    record = json.loads(archive.with_name(f"sha256-{OTHER}.json").read_text())
    record["content_sha256"] = f"sha256:{GOOD}"
    renamed.with_name(f"sha256-{GOOD}.json").write_text(json.dumps(record))
    with pytest.raises(MsbError, match=f"loaded {REF}: sha256:{OTHER}, not image {REF} with content sha256:{GOOD}"):
        ensure_image(FakeImages(), REF, GOOD, tmp_path)


def test_a_malformed_digest_is_named(tmp_path: Path) -> None:
    with pytest.raises(MsbError, match="'sha256:xyz' is not a content digest"):
        ensure_image(store(), REF, "sha256:xyz", tmp_path)
