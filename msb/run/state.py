"""Each unit's last state, one file per unit (`<experiment>/.msb/state/<run key>.json`), so that several writers
(the local matrix, Slurm jobs on other nodes) never overwrite each other's: each writes only its own units' files,
atomically, and readers merge them. An experiment of before this store keeps its `.msb/matrix-state.json`: read as the
fallback under the per-unit files, so it resumes."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from msb.paths import atomic_write, inside

STATE_DIR = ".msb/state"
LEGACY_STATE_FILE = ".msb/matrix-state.json"


@dataclass(frozen=True)
class RunState:
    """A run's last state, with what its record said it placed (relative to the experiment), and, for a unit run
    by a Slurm job, the job and its node (`reason`: why it failed, where the tool knows)."""

    state: str
    files: tuple[str, ...] = ()
    accuracy_dirs: tuple[str, ...] = ()
    seconds: float | None = None
    job: str | None = None
    node: str | None = None
    reason: str | None = None


def state_path(experiment: Path, key: str) -> Path:
    return inside(experiment, experiment / STATE_DIR / f"{key}.json", "the unit's state file")


def _decode(entry: object) -> RunState | None:
    if not isinstance(entry, dict):
        return None
    seconds = entry.get("seconds")
    return RunState(
        state=str(entry.get("state")),
        files=tuple(str(u) for u in entry.get("files") or ()),
        accuracy_dirs=tuple(str(d) for d in entry.get("accuracy_dirs") or ()),
        seconds=float(seconds) if isinstance(seconds, (int, float)) else None,
        job=_text(entry.get("job")),
        node=_text(entry.get("node")),
        reason=_text(entry.get("reason")),
    )


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _legacy(experiment: Path) -> dict[str, RunState]:
    path = experiment / LEGACY_STATE_FILE
    if not path.is_file():
        return {}
    try:
        runs = json.loads(path.read_text()).get("runs", {})
        decoded = {str(key): _decode(entry) for key, entry in runs.items()}
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError, TypeError, ValueError):
        return {}  # a state file cut short by a crash: its runs are checked again, and redone
    return {key: state for key, state in decoded.items() if state is not None}


def read_states(experiment: Path) -> dict[str, RunState]:
    """Every unit's state: the per-unit files over the old single file. A file that cannot be read (cut short by
    a crash) counts as no state: that unit is checked again, and redone."""
    states = _legacy(experiment)
    folder = experiment / STATE_DIR
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            state = _decode(json.loads(path.read_text()))
        except (OSError, json.JSONDecodeError, UnicodeDecodeError, TypeError, ValueError):
            state = None
        if state is None:
            states.pop(path.stem, None)
        else:
            states[path.stem] = state
    return states


def write_state(experiment: Path, key: str, state: RunState) -> None:
    """The unit's own file, atomically: a concurrent reader sees the old state or the new one, never half."""
    data: dict[str, Any] = {k: v for k, v in dataclasses.asdict(state).items() if v is not None}
    if state.seconds is not None:
        data["seconds"] = round(state.seconds, 1)
    atomic_write(state_path(experiment, key), json.dumps(data, indent=2, sort_keys=True) + "\n")


def files_present(experiment: Path, state: RunState | None) -> bool:
    """The files the run's record named are all still in the tree (a run with none named proves nothing)."""
    return state is not None and bool(state.files) and all((experiment / f).is_file() for f in state.files)
