"""The matrix state: one file per unit, merged on read (many nodes write one experiment at once), over the single
state file older experiments have."""

from __future__ import annotations

from pathlib import Path

from msb.run.progress import DONE, FAILED, RUNNING
from msb.run.state import RunState, read_states, write_state


def test_state_survives_and_a_cut_file_means_redo_that_unit(tmp_path: Path) -> None:
    write_state(tmp_path, "a", RunState(RUNNING))
    write_state(tmp_path, "a", RunState(DONE, ("closed/x/a.txt",), ("closed/x/accuracy",), 3.2))
    write_state(tmp_path, "b", RunState(FAILED, job="17", node="n1", reason="TIMEOUT"))
    assert read_states(tmp_path) == {
        "a": RunState(DONE, ("closed/x/a.txt",), ("closed/x/accuracy",), 3.2),
        "b": RunState(FAILED, job="17", node="n1", reason="TIMEOUT"),
    }
    (tmp_path / ".msb" / "state" / "a.json").write_text('{"sta')
    assert read_states(tmp_path) == {"b": RunState(FAILED, job="17", node="n1", reason="TIMEOUT")}


def test_an_experiment_of_the_single_state_file_resumes_under_the_per_unit_files(tmp_path: Path) -> None:
    old = '{"runs": {"a": {"state": "done", "files": ["closed/x/a.txt"]}, "b": {"state": "running"}}}'
    (tmp_path / ".msb").mkdir()
    (tmp_path / ".msb" / "matrix-state.json").write_text(old)
    assert read_states(tmp_path) == {"a": RunState(DONE, ("closed/x/a.txt",)), "b": RunState(RUNNING)}
    write_state(tmp_path, "b", RunState(DONE, ("closed/x/b.txt",)))
    assert read_states(tmp_path)["b"] == RunState(DONE, ("closed/x/b.txt",))
    (tmp_path / ".msb" / "matrix-state.json").write_text('{"runs": {"a": {"sta')
    assert read_states(tmp_path) == {"b": RunState(DONE, ("closed/x/b.txt",))}
