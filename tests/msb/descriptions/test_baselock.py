"""The base lock of a bootstrapped base (images/NAME.base.lock): parse, render, compare, and a bootstrap that would
install other versions refused before anything is imported. The package lists are made up here."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from msb.descriptions.baselock import (
    DebPackage,
    base_lock_path,
    package_changes,
    parse_base_lock,
    parse_dpkg_query,
    render_base_lock,
)
from msb.descriptions.image import ImageSpec, load_image_spec
from msb.errors import LockError
from msb.image import bootstrap
from msb.project import Project

PACKAGES = [
    DebPackage("libc6", "amd64", "2.36-9+deb12u10"),
    DebPackage("python3.11", "amd64", "3.11.2-6+deb12u6"),
    DebPackage("ca-certificates", "all", "20230311"),
]


@pytest.fixture
def spec(project: Project, tmp_path: Path) -> ImageSpec:
    """The cpu definition, as if it lived in tmp_path: its base lock goes there, never into images/."""
    return dataclasses.replace(load_image_spec(project, "cpu"), source=tmp_path / "cpu.yaml")


def test_dpkg_query_output_keeps_installed_packages_only() -> None:
    text = "ii \tlibc6\tamd64\t2.36-9+deb12u10\nrc \told\tamd64\t1.0\nii \tca-certificates\tall\t20230311\n"
    assert parse_dpkg_query(text) == sorted([PACKAGES[0], PACKAGES[2]])


def test_render_and_parse_round_trip(spec: ImageSpec) -> None:
    path = base_lock_path(spec)
    assert path.name == "cpu.base.lock"
    text = render_base_lock(spec, PACKAGES)
    assert "python3.11:amd64=3.11.2-6+deb12u6" in text.splitlines()
    assert parse_base_lock(text, path) == sorted(PACKAGES)


def test_changes_name_new_gone_and_other_versions() -> None:
    found = [DebPackage("libc6", "amd64", "2.36-9+deb12u11"), PACKAGES[2], DebPackage("zlib1g", "amd64", "1:1.2.13")]
    assert package_changes(PACKAGES, found) == [
        "~ libc6:amd64 2.36-9+deb12u10 -> 2.36-9+deb12u11",
        "- python3.11:amd64=3.11.2-6+deb12u6",
        "+ zlib1g:amd64=1:1.2.13",
    ]
    assert package_changes(PACKAGES, list(reversed(PACKAGES))) == []


class ImportRecorder:
    def __init__(self) -> None:
        self.imported: list[str] = []

    def import_rootfs(self, tarball: Path, repository: str, tag: str, changes: list[str]) -> str:
        self.imported.append(f"{repository}:{tag}")
        return "sha256:new"


def fake_bootstrap(monkeypatch: pytest.MonkeyPatch, packages: list[DebPackage]) -> ImportRecorder:
    """debootstrap and the rootfs's dpkg database replaced by a package list; tar runs on the empty folder."""
    monkeypatch.setattr(bootstrap, "debootstrap", lambda settings, rootfs: rootfs.mkdir())
    monkeypatch.setattr(bootstrap, "installed_packages", lambda rootfs: packages)
    return ImportRecorder()


def test_first_bootstrap_writes_the_lock_and_a_matching_one_passes(spec, monkeypatch) -> None:
    engine = fake_bootstrap(monkeypatch, PACKAGES)
    bootstrap.bootstrap(spec, engine, print, accept=False)
    assert parse_base_lock(base_lock_path(spec).read_text(), base_lock_path(spec)) == sorted(PACKAGES)
    bootstrap.bootstrap(spec, engine, print, accept=False)
    assert engine.imported == [spec.base.ref, spec.base.ref]


def test_a_bootstrap_with_other_versions_is_refused_before_import(spec, monkeypatch) -> None:
    base_lock_path(spec).write_text(render_base_lock(spec, PACKAGES))
    newer = [DebPackage("libc6", "amd64", "2.36-9+deb12u11"), *PACKAGES[1:]]
    engine = fake_bootstrap(monkeypatch, newer)
    with pytest.raises(LockError) as refused:
        bootstrap.bootstrap(spec, engine, print, accept=False)
    assert "~ libc6:amd64 2.36-9+deb12u10 -> 2.36-9+deb12u11" in refused.value.message
    assert "build.py lock cpu --base" in refused.value.fix
    assert engine.imported == []
    # `build.py lock cpu --base` accepts them on purpose: the lock now holds the new versions.
    bootstrap.bootstrap(spec, engine, print, accept=True)
    assert parse_base_lock(base_lock_path(spec).read_text(), base_lock_path(spec)) == sorted(newer)
    assert engine.imported == [spec.base.ref]
