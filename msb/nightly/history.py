"""The nights' history: one SQLite file (schema in docs/NIGHTLY.md). A night and all its figures are appended in one
transaction, so the file never holds half a night. A locked or corrupt file is an MsbError naming it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import astuple, dataclass, fields
from pathlib import Path

from msb.errors import MsbError

SCHEMA_VERSION = 1
LOCK_TIMEOUT_S = 10.0  # long enough for another night's append (milliseconds), short enough to fail a stuck lock

_SCHEMA = """
CREATE TABLE IF NOT EXISTS nights (
    night TEXT PRIMARY KEY,
    started TEXT NOT NULL,
    finished TEXT NOT NULL,
    config TEXT NOT NULL,
    experiment TEXT NOT NULL,
    baseline TEXT NOT NULL,
    revision TEXT NOT NULL,
    tolerance_pct REAL NOT NULL,
    verdict TEXT NOT NULL,
    exit_code INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS figures (
    night TEXT NOT NULL REFERENCES nights(night),
    unit TEXT NOT NULL,
    metric TEXT NOT NULL,
    value REAL,
    baseline_value REAL,
    validity TEXT NOT NULL,
    accuracy TEXT,
    image_id TEXT NOT NULL,
    revision TEXT NOT NULL,
    reproduced INTEGER,
    status TEXT NOT NULL,
    note TEXT NOT NULL,
    PRIMARY KEY (night, unit)
);
"""


@dataclass(frozen=True)
class Night:
    night: str  # its id: the UTC time it started, 20261202T010000Z
    started: str
    finished: str
    config: str
    experiment: str
    baseline: str
    revision: str
    tolerance_pct: float
    verdict: str  # reproduced | regressed | failed | first
    exit_code: int


@dataclass(frozen=True)
class Figure:
    night: str
    unit: str  # the result unit, relative to the experiment
    metric: str  # "Samples per second", ..., or "accuracy" for accuracy units
    value: float | None
    baseline_value: float | None
    validity: str
    accuracy: str | None
    image_id: str
    revision: str
    reproduced: bool | None  # None: nothing to compare with (a first night, a unit new tonight)
    status: str  # reproduced | regressed | failed (did not run, or its verification failed) | new (no baseline unit)
    note: str  # the first difference, or why it did not run


def check(path: Path, timeout_s: float = LOCK_TIMEOUT_S) -> None:
    """Open (creating it if absent) and read the file: a bad history fails the night before anything runs."""
    with _connection(path, timeout_s) as db:
        db.execute("SELECT count(*) FROM nights").fetchone()


def append(path: Path, night: Night, figures: list[Figure], timeout_s: float = LOCK_TIMEOUT_S) -> None:
    with _connection(path, timeout_s) as db, db:  # the second `db`: one transaction, committed or rolled back
        db.execute(f"INSERT INTO nights VALUES ({_marks(Night)})", astuple(night))
        db.executemany(f"INSERT INTO figures VALUES ({_marks(Figure)})", [astuple(figure) for figure in figures])


def nights(path: Path, last: int | None = None, timeout_s: float = LOCK_TIMEOUT_S) -> list[Night]:
    """The nights in order, oldest first; with `last`, only the most recent ones."""
    query = "SELECT * FROM nights ORDER BY night DESC" + (f" LIMIT {int(last)}" if last is not None else "")
    with _connection(path, timeout_s) as db:
        rows = db.execute(query).fetchall()
    return [Night(*row) for row in reversed(rows)]


def figures(path: Path, night_ids: list[str], timeout_s: float = LOCK_TIMEOUT_S) -> list[Figure]:
    if not night_ids:
        return []
    query = f"SELECT * FROM figures WHERE night IN ({', '.join('?' * len(night_ids))}) ORDER BY night, unit"
    with _connection(path, timeout_s) as db:
        rows = db.execute(query, night_ids).fetchall()
    return [_figure(row) for row in rows]


def previous_experiment(path: Path, timeout_s: float = LOCK_TIMEOUT_S) -> Path | None:
    """The experiment of the last night whose units ran (a night whose images did not build has nothing to offer)."""
    with _connection(path, timeout_s) as db:
        row = db.execute(
            "SELECT experiment FROM nights WHERE verdict != 'failed' ORDER BY night DESC LIMIT 1"
        ).fetchone()
    return Path(row[0]) if row else None


def _figure(row: tuple[object, ...]) -> Figure:
    values = list(row)
    reproduced = values[9]
    values[9] = None if reproduced is None else bool(reproduced)
    return Figure(*values)  # type: ignore[arg-type]  # the columns are the fields, in order


def _marks(cls: type) -> str:
    return ", ".join("?" * len(fields(cls)))


@contextmanager
def _connection(path: Path, timeout_s: float) -> Iterator[sqlite3.Connection]:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, timeout=timeout_s)
    except (OSError, sqlite3.Error) as error:
        raise MsbError(
            f"cannot open the nightly history {path}: {error}", "check the path and its permissions"
        ) from None
    try:
        _ensure_schema(db, path)
        yield db
    except sqlite3.OperationalError as error:
        raise _operational(path, error) from None
    except sqlite3.IntegrityError as error:
        raise MsbError(f"the nightly history {path} already holds this night ({error})", "rerun the night") from None
    except sqlite3.DatabaseError as error:
        raise _corrupt(path, error) from None
    finally:
        db.close()


def _ensure_schema(db: sqlite3.Connection, path: Path) -> None:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version not in (0, SCHEMA_VERSION):
        raise MsbError(
            f"the nightly history {path} has schema {version}; this tool reads schema {SCHEMA_VERSION}",
            "use the tool version that wrote it, or start a new history file (history: in the config)",
        )
    if version == 0:  # a new file (or one made before the schema was versioned): create the tables once
        db.executescript(_SCHEMA)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _operational(path: Path, error: sqlite3.OperationalError) -> MsbError:
    if "locked" in str(error) or "busy" in str(error):
        return MsbError(
            f"the nightly history {path} is locked by another process ({error})",
            f"wait for the other build.py nightly to finish (or stop the process holding it: fuser {path}), then rerun",
        )
    return _corrupt(path, error)


def _corrupt(path: Path, error: sqlite3.DatabaseError) -> MsbError:
    return MsbError(
        f"the nightly history {path} cannot be read: {error}",
        f"move it aside (mv {path} {path}.broken) to start a new history, or restore it from a backup",
    )
