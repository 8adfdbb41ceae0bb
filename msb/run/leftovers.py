"""What a dead build.py leaves in an experiment, and its removal: containers whose build.py is gone (each carries its
owner's host and pid) and run folders whose lock nobody holds. Staging folders are the harness's: it removes its own
stale ones when it starts."""

from __future__ import annotations

import fcntl
import os
import socket
from collections.abc import Callable
from pathlib import Path

from msb.engine import Engine
from msb.labels import LABEL_EXPERIMENT, LABEL_HOST, LABEL_HOST_PID
from msb.paths import inside, remove_tree
from msb.run.runner import LOCK_FILE, RUNS_DIR


def remove(experiment: Path, engine: Engine, say: Callable[[str], None]) -> None:
    """Containers and run folders of this experiment that a dead build.py left behind (a running build.py holds
    its run folder's lock, and its host and pid are on its container: one of another host, on an engine several
    hosts share, is that host's to judge). Staging folders are the harness's: it removes its own stale ones when it
    starts."""
    experiment = experiment.resolve()
    here = socket.gethostname()
    for container in engine.containers({LABEL_EXPERIMENT: str(experiment)}):
        if container.labels.get(LABEL_HOST, here) != here:
            continue
        pid = container.labels.get(LABEL_HOST_PID, "")
        if pid.isdigit() and _alive(int(pid)):
            continue
        engine.remove_container(container.name)
        say(f"removed container {container.name}, left by a build.py that is gone")
    runs = experiment / RUNS_DIR
    for run_dir in sorted(runs.iterdir()) if runs.is_dir() else []:
        if run_dir.is_dir() and not _locked(run_dir / LOCK_FILE):
            remove_tree(inside(experiment, run_dir, "a run folder"))
            say(f"removed {run_dir.relative_to(experiment)}, the inputs of an interrupted run")


def _locked(lock_path: Path) -> bool:
    if not lock_path.exists():
        return False
    with lock_path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
