"""msb/cli.py: `build.py --help` lists the exit statuses from msb/errors.py's table, and every error ends in the
status its class carries."""

from __future__ import annotations

import pytest

from msb import errors
from msb.cli import main, parser
from msb.errors import EXIT_BAD_INPUT, EXIT_FAILED_CHECK, EXIT_OK
from msb.project import Project
from msb.submission import command as submission_command


def test_help_lists_the_exit_statuses_of_the_table(project: Project) -> None:
    text = parser(project).format_help()
    for code, meaning in errors.EXIT_MEANINGS.items():
        assert f"  {code}  {meaning}\n" in text
    assert sorted(errors.EXIT_MEANINGS) == [EXIT_OK, EXIT_FAILED_CHECK, EXIT_BAD_INPUT] == [0, 1, 2]


def test_help_follows_a_changed_table(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(errors, "EXIT_MEANINGS", {0: "fine", 7: "a status someone added"})
    text = parser(project).format_help()
    assert "exit status:\n  0  fine\n  7  a status someone added" in text
    assert "bad input" not in text


def test_an_error_exits_with_its_class_status(
    project: Project, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def drift(*args: object) -> bool:
        raise errors.ContentDrift("the rebuild differs in /usr/lib/x", "see the paths above")

    monkeypatch.setattr(submission_command, "print_report", drift)
    assert main(["report", "."], project) == EXIT_FAILED_CHECK
    assert capsys.readouterr().err == "error: the rebuild differs in /usr/lib/x\n  fix: see the paths above\n"
