"""Write a run's results beside the submission tree and move them in only when the run completed.

A run writes into `<experiment>/.staging/<run-id>/` with the final tree's relative layout. `commit` renames
each result unit (a directory or a file) into place, replacing an older one; `discard` deletes the staging
folder. A run that dies without either leaves a stale staging folder; the next run removes it. A live run
holds an exclusive lock on `<run-id>.lock`, so a run sharing the experiment is never mistaken for a stale one.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import shutil
import time
from pathlib import Path
from typing import IO

STAGING_DIR = ".staging"


class OutputError(RuntimeError):
    """The experiment directory cannot take results; the message names it and the fix."""


class Staging:
    """One run's staging folder; create it with `Staging.open(experiment)`."""

    def __init__(self, experiment: Path, run_id: str, lock: IO[str]) -> None:
        self.experiment = experiment
        self.run_id = run_id
        self.path = experiment / STAGING_DIR / run_id
        self._lock = lock

    @classmethod
    def open(cls, experiment: Path) -> Staging:
        """Create this run's folder after removing folders that interrupted runs left behind."""
        staging_root = experiment / STAGING_DIR
        for attempt in range(10):
            try:
                staging_root.mkdir(parents=True, exist_ok=True)
                run_id = f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{secrets.token_hex(3)}"
                lock = (staging_root / f"{run_id}.lock").open("w")
                break
            except OSError as error:
                # Another run into the same experiment (a Slurm job on another node) removed the empty .staging
                # between our mkdir and open (`discard`): make it again.
                if isinstance(error, FileNotFoundError) and attempt < 9 and experiment.is_dir():
                    continue
                raise OutputError(
                    f"cannot write to the output directory {experiment} ({error.strerror}); "
                    "pass --output DIR that this user (or its group) can write"
                ) from error
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        remove_stale(staging_root, keep=run_id)
        staging = cls(experiment, run_id, lock)
        staging.path.mkdir()
        return staging

    def commit(self, units: list[Path]) -> list[Path]:
        """Move each unit (relative path) from staging into the experiment; returns the final paths."""
        placed = []
        for unit in units:
            source = self.path / unit
            if not source.exists():
                raise OutputError(f"staging holds no {unit}; the run did not write it")
            target = self.experiment / unit
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_dir() and not target.is_symlink():
                # Directories cannot be replaced in one rename: park the old one inside staging first.
                parked = self.path / ".replaced" / secrets.token_hex(4)
                parked.parent.mkdir(exist_ok=True)
                target.rename(parked)
            os.replace(source, target)
            placed.append(target)
        self.discard()
        return placed

    def discard(self) -> None:
        """Delete this run's staging folder and lock."""
        shutil.rmtree(self.path, ignore_errors=True)
        lock_path = self.path.with_name(f"{self.run_id}.lock")
        lock_path.unlink(missing_ok=True)
        self._lock.close()
        # Leave no empty .staging behind: tools that walk the experiment (the submission checker) trip on it.
        with contextlib.suppress(OSError):
            self.path.parent.rmdir()


def remove_stale(staging_root: Path, keep: str) -> list[Path]:
    """Remove run folders (and locks) of runs that no longer hold their lock; returns what was removed."""
    removed = []
    run_ids = {entry.name.removesuffix(".lock") for entry in staging_root.iterdir()} - {keep}
    for run_id in sorted(run_ids):
        lock_path = staging_root / f"{run_id}.lock"
        if _is_live(lock_path):
            continue
        folder = staging_root / run_id
        if folder.exists():
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
        lock_path.unlink(missing_ok=True)
    return removed


def _is_live(lock_path: Path) -> bool:
    if not lock_path.exists():
        return False
    try:
        handle = lock_path.open("a")
    except PermissionError:
        return True  # another user's run: not ours to judge stale
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False
