"""The nights' history: appended a night at a time, read back as written; a locked or corrupt file is an error naming
it with a fix."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from msb.errors import MsbError
from msb.nightly import history

UNIT = "closed/MSB/results/cpu_demo/resnet50/Offline/performance/run_1"


def night(night_id: str, verdict: str = "reproduced", experiment: str = "") -> history.Night:
    return history.Night(night_id, "2026-12-01T01:00:00Z", "2026-12-01T01:05:00Z", "/n/demo.yaml",
                         experiment or f"/nights/{night_id}/experiment", "/nights/base/experiment", "abc123", 15.0,
                         verdict, 0 if verdict == "reproduced" else 1)  # fmt: skip


def figure(night_id: str, value: float, reproduced: bool | None = True) -> history.Figure:
    status = {True: "reproduced", False: "regressed", None: "new"}[reproduced]
    return history.Figure(night_id, UNIT, "Samples per second", value, 1000.0, "VALID", None, "sha256:" + "a" * 64,
                          "abc123", reproduced, status, "")  # fmt: skip


def test_nights_and_figures_read_back_as_appended(tmp_path: Path) -> None:
    db = tmp_path / "nights" / "history.sqlite"
    history.check(db)  # creates it, with its folder
    history.append(db, night("20261201T010000Z"), [figure("20261201T010000Z", 1010.0)])
    history.append(db, night("20261202T010000Z", "regressed"), [figure("20261202T010000Z", 500.0, False)])
    history.append(db, night("20261203T010000Z"), [figure("20261203T010000Z", 990.0, None)])
    assert [n.night for n in history.nights(db)] == ["20261201T010000Z", "20261202T010000Z", "20261203T010000Z"]
    assert [n.verdict for n in history.nights(db, last=2)] == ["regressed", "reproduced"]
    read = history.figures(db, ["20261202T010000Z", "20261203T010000Z"])
    assert read == [figure("20261202T010000Z", 500.0, False), figure("20261203T010000Z", 990.0, None)]
    assert history.nights(db)[0] == night("20261201T010000Z")


def test_previous_is_the_last_night_whose_units_ran(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite"
    assert history.previous_experiment(db) is None
    history.append(db, night("20261201T010000Z", "regressed", "/a"), [])
    history.append(db, night("20261202T010000Z", "failed", "/b"), [])
    assert history.previous_experiment(db) == Path("/a")


def test_a_night_is_appended_whole_or_not_at_all(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite"
    history.append(db, night("n1"), [figure("n1", 1.0)])
    with pytest.raises(MsbError, match="already holds this night"):
        history.append(db, night("n2"), [figure("n2", 1.0), figure("n2", 2.0)])  # the same unit twice
    assert [n.night for n in history.nights(db)] == ["n1"]  # the night row was rolled back with its figures


def test_a_locked_history_is_named_with_a_fix(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite"
    history.check(db)
    holder = sqlite3.connect(db)
    holder.execute("BEGIN EXCLUSIVE")  # another nightly in the middle of its append
    try:
        with pytest.raises(MsbError, match=f"history {db} is locked") as error:
            history.append(db, night("n1"), [], timeout_s=0.1)
        assert "wait for the other build.py nightly" in error.value.fix
    finally:
        holder.rollback()
        holder.close()
    history.append(db, night("n1"), [], timeout_s=0.1)  # free again


def test_a_corrupt_history_is_named_with_a_fix(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite"
    db.write_bytes(b"this is not a database, it is a shopping list\n" * 100)
    with pytest.raises(MsbError, match=f"history {db} cannot be read") as error:
        history.check(db)
    assert f"mv {db} {db}.broken" in error.value.fix


def test_a_history_of_a_newer_schema_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite"
    with sqlite3.connect(db) as connection:
        connection.execute("PRAGMA user_version = 7")
    with pytest.raises(MsbError, match="has schema 7; this tool reads schema 1"):
        history.nights(db)
