"""Staging (harness/results/staging.py): a result committed as a whole, a running run's folder left alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

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


def test_a_staging_root_removed_by_another_run_between_mkdir_and_open_is_made_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another run's `discard` (a Slurm job on another node, same experiment) removes the empty .staging just after
    # this run made it.
    mkdir = Path.mkdir
    raced: list[Path] = []

    def mkdir_then_lose_it(self: Path, *args: Any, **kwargs: Any) -> None:
        mkdir(self, *args, **kwargs)
        if self.name == STAGING_DIR and not raced:
            raced.append(self)
            self.rmdir()

    monkeypatch.setattr(Path, "mkdir", mkdir_then_lose_it)
    staging = Staging.open(tmp_path)
    assert raced and staging.path.is_dir()
    staging.discard()
