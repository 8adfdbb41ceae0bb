"""Staging (harness/results/staging.py): a result committed as a whole, a running run's folder left alone."""

from __future__ import annotations

from pathlib import Path

from harness.results.staging import STAGING_DIR, Staging, remove_stale


def test_commit_replaces_an_older_result_as_a_whole(tmp_path: Path) -> None:
    old = tmp_path / "closed" / "r"
    old.mkdir(parents=True)
    (old / "stale.txt").write_text("from an earlier run")
    staging = Staging.open(tmp_path)
    (staging.path / "closed" / "r").mkdir(parents=True)
    (staging.path / "closed" / "r" / "new.txt").write_text("this run")
    staging.commit([Path("closed/r")])
    assert sorted(p.name for p in old.iterdir()) == ["new.txt"]
    assert not (tmp_path / STAGING_DIR).exists()


def test_a_running_runs_staging_folder_is_not_taken_for_stale(tmp_path: Path) -> None:
    live = Staging.open(tmp_path)
    dead = tmp_path / STAGING_DIR / "dead-run"
    dead.mkdir()
    removed = remove_stale(tmp_path / STAGING_DIR, keep="someone-else")
    assert removed == [dead]
    assert live.path.exists()
    live.discard()
