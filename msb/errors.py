"""Typed errors. Each names the bad input and says how to fix it; the CLI prints them without a traceback."""

from __future__ import annotations

import sys

# Exit statuses every command shares; `build.py --help` lists them from EXIT_MEANINGS.
EXIT_OK = 0
EXIT_FAILED_CHECK = 1
EXIT_BAD_INPUT = 2

EXIT_MEANINGS: dict[int, str] = {
    EXIT_OK: "done: the check passed, the run placed its results",
    EXIT_FAILED_CHECK: "a check found problems, or a run failed or was interrupted (the first line says which)",
    EXIT_BAD_INPUT: "bad input: the error names it and a fix follows (argparse's usage errors too)",
}


def exit_codes_text() -> str:
    """The exit-status table as `build.py --help` shows it (read when called, so it always shows the table)."""
    return "exit status:\n" + "\n".join(f"  {code}  {meaning}" for code, meaning in sorted(EXIT_MEANINGS.items()))


class MsbError(Exception):
    """Base of every error the CLI reports as a one-line message plus a fix."""

    exit_status = EXIT_BAD_INPUT  # what the command exits with when this error ends it

    def __init__(self, message: str, fix: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.message}\n  fix: {self.fix}" if self.fix else self.message


class SpecError(MsbError):
    """An image definition, system description or lock file is missing, malformed or names something unknown."""


class EngineUnavailable(MsbError):
    """No Docker engine answers."""


class BuildFailed(MsbError):
    """`docker build` failed; carries the last lines of the build log."""

    def __init__(self, message: str, log_tail: list[str], fix: str = "") -> None:
        super().__init__(message, fix)
        self.log_tail = log_tail

    def __str__(self) -> str:
        tail = "\n".join(f"    {line}" for line in self.log_tail)
        return f"{super().__str__()}\n  last lines of the build log:\n{tail}"


class UnpinnedBase(MsbError):
    """The base image has no digest and --allow-unpinned was not given."""


class GpuUnavailable(MsbError):
    """GPUs were asked for but the engine has no NVIDIA runtime; we never fall back to the CPU."""


class RunFailed(MsbError):
    """The harness container exited non-zero or was interrupted: a failed run (exit 1), not bad input."""

    exit_status = EXIT_FAILED_CHECK


class ExperimentDirError(MsbError):
    """The experiment directory cannot be created or written by the container's user."""


class LockError(MsbError):
    """Locking or fetching the hash-locked wheels failed."""


class ContentDrift(MsbError):
    """A rebuild from the same inputs gave another filesystem: a failed check (exit 1), not bad input."""

    exit_status = EXIT_FAILED_CHECK


def report(exc: MsbError) -> int:
    """The command-line convention for an MsbError: `error: MESSAGE` and `  fix: FIX` on stderr; returns its exit
    status (2 unless the error is a failed check or run)."""
    print(f"error: {exc}", file=sys.stderr)
    return exc.exit_status
