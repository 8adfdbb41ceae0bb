"""What every command's module shares: the subparsers it adds its parser to, the handler it registers there, and
the two consoles (progress on stderr; tables on stdout, wide enough when piped)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TypeAlias

from rich.console import Console

from msb.project import Project

# `build.py`'s subcommands; each package's `add_parser(sub, project)` adds its own and registers its handler.
# (A string: argparse's class is generic only in its stubs.)
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Handler: TypeAlias = Callable[[Project, argparse.Namespace], int]


def register(parser: argparse.ArgumentParser, handler: Handler) -> None:
    """`build.py` calls `handler(project, options)` when this parser's command is given."""
    parser.set_defaults(handler=handler)


def status_console() -> Console:
    """Progress and outcomes: stderr, so stdout stays the command's answer."""
    return Console(stderr=True, highlight=False)


def table_console() -> Console:
    """Tables on stdout: wide enough for paths and accuracy lines when piped (rich assumes 80 columns off a tty)."""
    return Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def log_line(line: str) -> None:
    """Build output goes out as it arrives, unwrapped, so it reads like `docker build`."""
    print(line, file=sys.stderr, flush=True)
