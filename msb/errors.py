"""Typed errors. Each names the bad input and says how to fix it; the CLI prints them without a traceback."""

from __future__ import annotations

import sys


class MsbError(Exception):
    """Base of every error the CLI reports as a one-line message plus a fix."""

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
    """The harness container exited non-zero or was interrupted."""


class ExperimentDirError(MsbError):
    """The experiment directory cannot be created or written by the container's user."""


class LockError(MsbError):
    """Locking or fetching the hash-locked wheels failed."""


class ContentDrift(MsbError):
    """A rebuild from the same inputs gave another filesystem: a failed check (exit 1), not bad input."""


# Exit statuses every command shares: 1 for a check that found problems, 2 for bad input (argparse's too).
EXIT_FAILED_CHECK = 1
EXIT_BAD_INPUT = 2


def report(exc: MsbError) -> int:
    """The command-line convention for an MsbError: `error: MESSAGE` and `  fix: FIX` on stderr, exit 2."""
    print(f"error: {exc}", file=sys.stderr)
    return EXIT_BAD_INPUT
