"""Downloads with published checksums (served from 127.0.0.1 or file://, never the network) and short-run
dataset preparation."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
import zipfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from msb.cli import main
from msb.datasets import (
    Download,
    DownloadError,
    fetch,
    load_downloads,
    prepare_coco,
    prepare_openimages_annotations,
)
from msb.errors import SpecError
from msb.project import Project

PAYLOAD = b"not really a model\n" * 100


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """A loopback HTTP server over tmp_path/www; yields its base URL."""
    root = tmp_path / "www"
    root.mkdir()
    (root / "model.onnx").write_bytes(PAYLOAD)
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def _download(url: str, checksum: str, algorithm: str = "md5", size: int | None = None) -> Download:
    return Download("test-model", url, "model.onnx", algorithm, checksum, "test", size)


def test_the_download_list_has_every_official_file_with_a_checksum() -> None:
    downloads = load_downloads()
    assert {"resnet50-onnx", "retinanet-onnx", "ssd-resnet34-onnx"} <= set(downloads)
    assert downloads["retinanet-onnx"].url == "https://zenodo.org/record/6617879/files/resnext50_32x4d_fpn.onnx"
    assert downloads["retinanet-onnx"].checksum == "4544f4e56e0a4684215831cc937ea45c"
    for download in downloads.values():
        assert len(download.checksum) == {"md5": 32, "sha256": 64}[download.algorithm]
        assert download.source


def test_fetch_verifies_and_reuses(tmp_path: Path, served: str) -> None:
    good = _download(f"{served}/model.onnx", hashlib.md5(PAYLOAD).hexdigest())
    path = fetch(good, tmp_path / "dest")
    assert path.read_bytes() == PAYLOAD
    (tmp_path / "www/model.onnx").unlink()  # a verified file in place is not fetched again
    assert fetch(good, tmp_path / "dest") == path


def test_checksum_mismatch_is_an_error_and_leaves_nothing(tmp_path: Path, served: str) -> None:
    bad = _download(f"{served}/model.onnx", hashlib.sha256(b"other").hexdigest(), "sha256")
    with pytest.raises(DownloadError, match="published with") as error:
        fetch(bad, tmp_path / "dest")
    assert "fetch again" in str(error.value)
    assert list((tmp_path / "dest").iterdir()) == []
    (tmp_path / "dest/model.onnx").write_bytes(PAYLOAD)  # a stale file in place is checked too
    with pytest.raises(DownloadError, match="published with"):
        fetch(bad, tmp_path / "dest")


def test_size_is_checked_and_file_urls_work(tmp_path: Path) -> None:
    source = tmp_path / "model.onnx"
    source.write_bytes(PAYLOAD)
    digest = hashlib.md5(PAYLOAD).hexdigest()
    with pytest.raises(DownloadError, match=f"{len(PAYLOAD)} bytes but test-model is published with 5"):
        fetch(_download(source.as_uri(), digest, size=5), tmp_path / "dest")
    assert fetch(_download(source.as_uri(), digest, size=len(PAYLOAD)), tmp_path / "dest").is_file()


def test_unreachable_or_missing_files_say_why(tmp_path: Path, served: str) -> None:
    with pytest.raises(DownloadError, match="answered HTTP 404") as error:
        fetch(_download(f"{served}/missing.onnx", "0" * 32), tmp_path / "dest")
    assert "may have moved" in str(error.value)
    closed = "http://127.0.0.1:9/model.onnx"  # discard port: nothing listens
    with pytest.raises(DownloadError, match=r"cannot download test-model from http://127\.0\.0\.1:9") as error:
        fetch(_download(closed, "0" * 32), tmp_path / "dest")
    assert "may be offline" in str(error.value)
    assert not (tmp_path / "dest/model.onnx.part").exists()


def test_bad_download_list_is_refused(tmp_path: Path) -> None:
    listing = tmp_path / "downloads.yaml"
    listing.write_text("downloads:\n  x:\n    url: u\n    file: f\n    source: s\n")
    with pytest.raises(DownloadError, match="exactly one of md5 or sha256"):
        load_downloads(listing)
    listing.write_text("downloads:\n  x:\n    url: u\n    file: f\n    source: s\n    md5: a\n    sha1: b\n")
    with pytest.raises(SpecError, match="sha1"):
        load_downloads(listing)


def _coco_archives(tmp_path: Path) -> tuple[Path, Path]:
    images = [{"id": 10 + i, "file_name": f"{i:012d}.jpg", "height": 4, "width": 4} for i in range(5)]
    annotations = [{"id": i, "image_id": 10 + i, "category_id": 1, "bbox": [0, 0, 1, 1]} for i in range(5)]
    document = {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "a"}]}
    with zipfile.ZipFile(tmp_path / "annotations.zip", "w") as zipped:
        zipped.writestr("annotations/instances_val2017.json", json.dumps(document))
        zipped.writestr("openimages-mlperf.json", json.dumps(document))
    with zipfile.ZipFile(tmp_path / "val2017.zip", "w") as zipped:
        for image in images:
            zipped.writestr(f"val2017/{image['file_name']}", b"jpeg")
    return tmp_path / "val2017.zip", tmp_path / "annotations.zip"


def test_short_run_keeps_the_first_images_and_their_annotations(tmp_path: Path) -> None:
    images_zip, annotations_zip = _coco_archives(tmp_path)
    dest = prepare_coco(images_zip, annotations_zip, tmp_path / "coco", count=2)
    document = json.loads((dest / "annotations/instances_val2017.json").read_text())
    assert [image["id"] for image in document["images"]] == [10, 11]
    assert [a["image_id"] for a in document["annotations"]] == [10, 11]
    assert sorted(p.name for p in (dest / "val2017").iterdir()) == ["000000000000.jpg", "000000000001.jpg"]
    full = prepare_openimages_annotations(annotations_zip, tmp_path / "oi")
    assert len(json.loads((full / "annotations/openimages-mlperf.json").read_text())["images"]) == 5


def test_command_line_names_unknown_downloads(
    project: Project, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["datasets", "fetch", "no-such-model", "--dest", str(tmp_path)], project) == 2
    assert "unknown download(s) ['no-such-model']" in capsys.readouterr().err
