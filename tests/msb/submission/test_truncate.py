"""Accuracy-log truncation: the official format, the hash, the backup, refusals and reruns."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from msb.cli import main
from msb.project import Project
from msb.submission.truncate import (
    AlreadyTruncated,
    TruncationError,
    truncate_accuracy_dir,
    truncate_tree,
)
from tests.support.submission_tree import run_loadgen, user_conf


@pytest.fixture(scope="module")
def real_log(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A LoadGen accuracy log of 1024 samples (about 60 KB), from a real accuracy run."""
    out = tmp_path_factory.mktemp("loadgen")
    run_loadgen(out, "Offline", accuracy=True, conf=user_conf())
    return (out / "mlperf_log_accuracy.json").read_bytes()


@pytest.fixture
def accuracy_dir(tmp_path: Path, real_log: bytes) -> Path:
    directory = tmp_path / "tree" / "closed" / "org" / "results" / "sys" / "resnet50" / "Offline" / "accuracy"
    directory.mkdir(parents=True)
    (directory / "mlperf_log_accuracy.json").write_bytes(real_log)
    (directory / "accuracy.txt").write_text("accuracy=78.000%, good=799, total=1024\n")
    return directory


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_round_trip_matches_the_official_format(accuracy_dir: Path, real_log: bytes, tmp_path: Path) -> None:
    backup = tmp_path / "backup" / "mlperf_log_accuracy.json"
    done = truncate_accuracy_dir(accuracy_dir, backup)
    truncated = (accuracy_dir / "mlperf_log_accuracy.json").read_bytes()
    assert truncated == real_log[:4096] + b"\n\n...\n\n" + real_log[-4096:]
    # The official checker rejects logs over 10 KiB and reads the hash with ^hash=(\w+)$.
    assert len(truncated) <= 10 * 1024
    full_hash = hashlib.sha256(real_log).hexdigest()
    assert done.sha256 == full_hash
    assert (accuracy_dir / "accuracy.txt").read_text() == (
        f"accuracy=78.000%, good=799, total=1024\n\nhash={full_hash}\n"
    )
    assert backup.read_bytes() == real_log
    assert sorted(p.name for p in accuracy_dir.iterdir()) == ["accuracy.txt", "mlperf_log_accuracy.json"]


def test_already_truncated_log_is_refused_and_left_alone(accuracy_dir: Path, tmp_path: Path) -> None:
    backup = tmp_path / "backup" / "mlperf_log_accuracy.json"
    truncate_accuracy_dir(accuracy_dir, backup)
    before = snapshot(accuracy_dir)
    with pytest.raises(AlreadyTruncated, match="already truncated"):
        truncate_accuracy_dir(accuracy_dir, backup)
    assert snapshot(accuracy_dir) == before


def test_tree_rerun_is_harmless(accuracy_dir: Path, tmp_path: Path) -> None:
    root = tmp_path / "tree"
    assert len(truncate_tree(root, tmp_path / "backup")) == 1
    before = snapshot(accuracy_dir)
    assert truncate_tree(root, tmp_path / "backup") == []
    assert snapshot(accuracy_dir) == before
    assert (tmp_path / "backup" / accuracy_dir.relative_to(root) / "mlperf_log_accuracy.json").is_file()


def test_backup_inside_the_tree_is_refused(accuracy_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(TruncationError, match="inside the submission tree"):
        truncate_tree(tmp_path / "tree", tmp_path / "tree" / "backup")


def test_looks_truncated_without_hash_is_refused(accuracy_dir: Path, real_log: bytes, tmp_path: Path) -> None:
    log = accuracy_dir / "mlperf_log_accuracy.json"
    log.write_bytes(real_log[:4096] + b"\n\n...\n\n" + real_log[-4096:])
    with pytest.raises(TruncationError, match="records no hash"):
        truncate_accuracy_dir(accuracy_dir, tmp_path / "backup" / "log.json")


def test_rerun_after_a_crash_between_hash_and_log_finishes(accuracy_dir: Path, real_log: bytes, tmp_path: Path) -> None:
    full_hash = hashlib.sha256(real_log).hexdigest()
    txt = accuracy_dir / "accuracy.txt"
    txt.write_text(txt.read_text() + f"\nhash={full_hash}\n")
    truncate_accuracy_dir(accuracy_dir, tmp_path / "backup" / "log.json")
    assert txt.read_text().count("hash=") == 1
    assert (accuracy_dir / "mlperf_log_accuracy.json").stat().st_size == 2 * 4096 + 7


def test_hash_of_another_log_is_refused(accuracy_dir: Path, tmp_path: Path) -> None:
    txt = accuracy_dir / "accuracy.txt"
    txt.write_text(txt.read_text() + "\nhash=" + "0" * 64 + "\n")
    with pytest.raises(TruncationError, match="records hash="):
        truncate_accuracy_dir(accuracy_dir, tmp_path / "backup" / "log.json")


def test_differing_backup_is_not_overwritten(accuracy_dir: Path, tmp_path: Path) -> None:
    backup = tmp_path / "backup" / "log.json"
    backup.parent.mkdir()
    backup.write_text("another run's log")
    with pytest.raises(TruncationError, match="differs"):
        truncate_accuracy_dir(accuracy_dir, backup)
    assert backup.read_text() == "another run's log"


def test_short_log_is_kept_whole_but_hashed(accuracy_dir: Path, tmp_path: Path) -> None:
    log = accuracy_dir / "mlperf_log_accuracy.json"
    log.write_text('[\n{ "seq_id" : 0, "qsl_idx" : 0, "data" : "00000000" }\n]\n')
    before = log.read_bytes()
    truncate_accuracy_dir(accuracy_dir, tmp_path / "backup" / "log.json")
    assert log.read_bytes() == before
    assert f"hash={hashlib.sha256(before).hexdigest()}" in (accuracy_dir / "accuracy.txt").read_text()


def test_test01_directory_gets_an_accuracy_txt(tmp_path: Path, real_log: bytes) -> None:
    test01 = tmp_path / "tree" / "closed" / "org" / "compliance" / "sys" / "resnet50" / "Offline" / "TEST01"
    (test01 / "accuracy").mkdir(parents=True)
    (test01 / "accuracy" / "mlperf_log_accuracy.json").write_bytes(real_log)
    done = truncate_tree(tmp_path / "tree", tmp_path / "backup")
    assert [d.accuracy_dir for d in done] == [(test01 / "accuracy").resolve()]
    assert (test01 / "accuracy" / "accuracy.txt").read_text() == f"\nhash={hashlib.sha256(real_log).hexdigest()}\n"


def test_main_reports_and_exits_nonzero_on_refusal(
    accuracy_dir: Path, project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["submission", "truncate", str(tmp_path / "tree"), "--backup", str(tmp_path / "backup")], project) == 0
    assert "1 accuracy log(s) truncated" in capsys.readouterr().out
    shutil.rmtree(tmp_path / "backup")
    log = accuracy_dir / "mlperf_log_accuracy.json"
    (accuracy_dir / "accuracy.txt").write_text("accuracy=78.000%\n")
    assert log.stat().st_size == 2 * 4096 + 7
    assert main(["submission", "truncate", str(tmp_path / "tree"), "--backup", str(tmp_path / "backup")], project) == 2
    assert "records no hash" in capsys.readouterr().err
