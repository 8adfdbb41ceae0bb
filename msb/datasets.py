"""Download official MLPerf model files and dataset archives with their published checksums; cut short runs.

`data/downloads.yaml` lists each download (address, md5 or sha256, where the facts come from). `fetch` writes
into a `.part` file, verifies the checksum and only then renames, so a failed or tampered download never looks
like a good one; a file already in place is verified, not fetched again. `prepare_coco` and
`prepare_openimages_annotations` lay out the detection datasets as the harness reads them, optionally keeping
only the first N images (like LoadGen's short runs) so a quick accuracy run does not need the whole set.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from msb.commands import Subparsers, register
from msb.descriptions.yamlfile import check_keys, load_mapping
from msb.errors import MsbError
from msb.project import Project

DOWNLOADS_YAML = Path(__file__).resolve().parent.parent / "data" / "downloads.yaml"
_CHUNK = 1 << 20


class DownloadError(MsbError):
    """A download failed, could not be reached, or does not match its published checksum."""


@dataclass(frozen=True)
class Download:
    """One file as MLCommons publishes it."""

    name: str
    url: str
    file: str
    algorithm: str  # "md5" or "sha256"
    checksum: str
    source: str
    size: int | None = None


def load_downloads(path: Path = DOWNLOADS_YAML) -> dict[str, Download]:
    """The downloads of `path` by name; every entry needs url, file, source and exactly one of md5/sha256."""
    data = load_mapping(path, "download list")
    check_keys(data, str(path), ["downloads"])
    downloads = {}
    for name, entry in data["downloads"].items():
        where = f"{path}: downloads.{name}"
        check_keys(entry, where, ["url", "file", "source"], ["md5", "sha256", "size"])
        algorithms = [a for a in ("md5", "sha256") if a in entry]
        if len(algorithms) != 1:
            raise DownloadError(f"{where} needs exactly one of md5 or sha256", "add the published checksum")
        algorithm = algorithms[0]
        downloads[name] = Download(
            name=name,
            url=str(entry["url"]),
            file=str(entry["file"]),
            algorithm=algorithm,
            checksum=str(entry[algorithm]).lower(),
            source=str(entry["source"]),
            size=int(entry["size"]) if "size" in entry else None,
        )
    return downloads


def file_digest(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify(path: Path, download: Download) -> None:
    """Raise DownloadError unless `path` has the published size (where known) and checksum."""
    if download.size is not None and path.stat().st_size != download.size:
        raise DownloadError(
            f"{path} has {path.stat().st_size} bytes but {download.name} is published with {download.size}",
            f"delete it and fetch again from {download.url}",
        )
    actual = file_digest(path, download.algorithm)
    if actual != download.checksum:
        raise DownloadError(
            f"{path} has {download.algorithm} {actual} but {download.name} is published with {download.checksum} "
            f"({download.source})",
            f"delete it and fetch again from {download.url}; if it keeps failing the file changed upstream",
        )


def fetch(download: Download, dest_dir: Path, timeout: float = 60.0) -> Path:
    """`dest_dir/<file>`, downloaded and verified (or verified where it already is)."""
    target = dest_dir / download.file
    if target.is_file():
        verify(target, download)
        return target
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DownloadError(
            f"cannot create {dest_dir}: {error.strerror or error}", "give --dest a writable folder"
        ) from None
    partial = target.with_name(target.name + ".part")
    try:
        with urllib.request.urlopen(download.url, timeout=timeout) as response, partial.open("wb") as out:
            shutil.copyfileobj(response, out, _CHUNK)
    except urllib.error.HTTPError as error:
        partial.unlink(missing_ok=True)
        raise DownloadError(
            f"cannot download {download.name}: {download.url} answered HTTP {error.code} {error.reason}",
            f"the file may have moved: check the address in {DOWNLOADS_YAML.name} against its source "
            f"({download.source}), or put the file at {target}",
        ) from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        partial.unlink(missing_ok=True)
        reason = getattr(error, "reason", error)
        raise DownloadError(
            f"cannot download {download.name} from {download.url}: {reason}",
            f"check the network (this machine may be offline), or fetch the file elsewhere and put it at "
            f"{target}; its checksum is verified either way",
        ) from None
    try:
        verify(partial, download)
    except DownloadError:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(target)
    return target


def first_images(annotations: dict[str, Any], count: int | None) -> dict[str, Any]:
    """The annotation file cut to its first `count` images (file order = QSL order) and their annotations."""
    if count is None:
        return annotations
    if count < 1:
        raise DownloadError(f"--count {count} must be 1 or more")
    images = annotations["images"][:count]
    kept = {image["id"] for image in images}
    return {
        **annotations,
        "images": images,
        "annotations": [a for a in annotations["annotations"] if a["image_id"] in kept],
    }


def _read_json_member(archive: Path, member: str) -> dict[str, Any]:
    try:
        with zipfile.ZipFile(archive) as zipped:
            data: dict[str, Any] = json.loads(zipped.read(member))
            return data
    except KeyError:
        raise DownloadError(
            f"{archive} has no {member}", "fetch the archive again; it is not the published one"
        ) from None
    except (zipfile.BadZipFile, json.JSONDecodeError) as error:
        raise DownloadError(f"cannot read {member} from {archive}: {error}", "fetch the archive again") from None


def prepare_coco(images_zip: Path, annotations_zip: Path, dest: Path, count: int | None = None) -> Path:
    """`dest/annotations/instances_val2017.json` and `dest/val2017/` (first `count` images, or all)."""
    annotations = first_images(_read_json_member(annotations_zip, "annotations/instances_val2017.json"), count)
    names = {f"val2017/{image['file_name']}" for image in annotations["images"]}
    with zipfile.ZipFile(images_zip) as zipped:
        missing = names - set(zipped.namelist())
        if missing:
            raise DownloadError(
                f"{images_zip} lacks {len(missing)} images the annotations list (e.g. {sorted(missing)[0]})",
                "fetch coco-2017-val-images again",
            )
        for name in sorted(names):
            zipped.extract(name, dest)
    (dest / "annotations").mkdir(parents=True, exist_ok=True)
    (dest / "annotations" / "instances_val2017.json").write_text(json.dumps(annotations))
    return dest


def prepare_openimages_annotations(annotations_zip: Path, dest: Path, count: int | None = None) -> Path:
    """`dest/annotations/openimages-mlperf.json` (first `count` images, or all); the images come from
    MLPerf's tools/openimages_mlperf.sh into `dest/validation/data/`."""
    annotations = first_images(_read_json_member(annotations_zip, "openimages-mlperf.json"), count)
    (dest / "annotations").mkdir(parents=True, exist_ok=True)
    (dest / "annotations" / "openimages-mlperf.json").write_text(json.dumps(annotations))
    return dest


def add_parser(sub: Subparsers, project: Project) -> None:
    """`build.py datasets list | fetch NAME... --dest DIR | coco --dest DIR [--count N]`."""
    datasets = sub.add_parser("datasets", help="download official models and datasets, verified by checksum")
    actions = datasets.add_subparsers(dest="action", required=True, metavar="ACTION")
    get = actions.add_parser("fetch", help="download and verify files listed in data/downloads.yaml")
    get.add_argument("names", nargs="+", help="download names (see `list`)")
    get.add_argument("--dest", type=Path, required=True, metavar="DIR")
    actions.add_parser("list", help="list the known downloads")
    coco = actions.add_parser("coco", help="fetch COCO 2017 val and lay it out for ssd-resnet34")
    coco.add_argument("--dest", type=Path, required=True, metavar="DIR")
    coco.add_argument("--count", type=int, help="keep only the first N images (short runs)")
    register(datasets, command)


def command(project: Project, options: argparse.Namespace) -> int:
    downloads = load_downloads()
    if options.action == "list":
        for download in downloads.values():
            print(f"{download.name}: {download.url} ({download.algorithm} {download.checksum})")
    elif options.action == "fetch":
        unknown = [name for name in options.names if name not in downloads]
        if unknown:
            raise DownloadError(f"unknown download(s) {unknown}", f"valid: {sorted(downloads)}")
        for name in options.names:
            print(fetch(downloads[name], options.dest))
    else:
        archives = options.dest / "archives"
        images = fetch(downloads["coco-2017-val-images"], archives)
        annotations = fetch(downloads["coco-2017-annotations"], archives)
        print(prepare_coco(images, annotations, options.dest, options.count))
    return 0
