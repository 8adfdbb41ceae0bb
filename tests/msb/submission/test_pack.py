"""Packing: same tree, same tarball bytes; a tree with checker errors is refused unless forced."""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
from pathlib import Path

import pytest

from msb.descriptions.rounds import RoundProfile, load_round
from msb.submission.pack import PackError, default_tarball, pack
from tests.support.submission_tree import SUBMITTER, build_tree, relaxed_profile


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("submission")
    return build_tree(base / "tree", base / "backup")


@pytest.fixture(scope="module")
def profile() -> RoundProfile:
    return relaxed_profile(load_round("v5.1"))


def test_same_tree_gives_the_same_sha256(built: Path, profile: RoundProfile, tmp_path: Path) -> None:
    first = pack(built, tmp_path / "a" / "sub.tar.gz", profile)
    # A copy made later: other mtimes, other inode order, other parent directory.
    copy = Path(shutil.copytree(built, tmp_path / "copy" / "tree"))
    for path in copy.rglob("*"):
        os.utime(path, (1_700_000_000, 1_700_000_000))
    second = pack(copy, tmp_path / "b" / "sub.tar.gz", profile)
    assert first.sha256 == second.sha256
    assert first.tarball.read_bytes() == second.tarball.read_bytes()


def test_sha256_file_verifies_the_tarball(built: Path, profile: RoundProfile, tmp_path: Path) -> None:
    packed = pack(built, tmp_path / "sub.tar.gz", profile)
    digest = hashlib.sha256(packed.tarball.read_bytes()).hexdigest()
    assert packed.sha256_file.read_text() == f"{digest}  sub.tar.gz\n"


def test_archive_holds_the_divisions_sorted_with_fixed_owners(
    built: Path, profile: RoundProfile, tmp_path: Path
) -> None:
    packed = pack(built, tmp_path / "sub.tar.gz", profile)
    with tarfile.open(packed.tarball) as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names[0] == "closed"
    assert f"closed/{SUBMITTER}/systems/cpu_ort.json" in names
    assert {(m.uid, m.gid, m.uname, m.gname, m.mtime) for m in members} == {(0, 0, "", "", 946684800)}
    files = [p.relative_to(built).as_posix() for p in built.rglob("*")]
    assert sorted(names) == sorted(files)


def test_tree_with_errors_is_refused_unless_forced(built: Path, profile: RoundProfile, tmp_path: Path) -> None:
    broken = Path(shutil.copytree(built, tmp_path / "tree"))
    (broken / "closed" / SUBMITTER / ".hidden").write_text("x")
    with pytest.raises(PackError, match="checker error"):
        pack(broken, tmp_path / "out.tar.gz", profile)
    assert not (tmp_path / "out.tar.gz").exists()
    assert pack(broken, tmp_path / "out.tar.gz", profile, force=True).tarball.is_file()


def test_output_inside_the_tree_is_refused(built: Path, profile: RoundProfile) -> None:
    with pytest.raises(PackError, match="inside the tree"):
        pack(built, built / "sub.tar.gz", profile)


def test_default_name_carries_the_submitter(built: Path) -> None:
    assert default_tarball(built) == built.resolve().parent / f"mlperf_submission_{SUBMITTER}.tar.gz"
