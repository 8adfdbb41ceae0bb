"""`build.py`: the command line. Assembles the commands' parsers (each package adds its own) and dispatches to the
command's `command(project, options)`; reports MsbError as a message and a fix (no traceback) with its exit status."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from msb import datasets, errors
from msb.calibrate import command as calibrate
from msb.cluster import array_command as cluster_arrays
from msb.cluster import command as cluster
from msb.descriptions import detect_command
from msb.errors import EXIT_BAD_INPUT, MsbError, report
from msb.explore import command as explore
from msb.image import command as image
from msb.nightly import command as nightly
from msb.project import Project
from msb.run import command as run
from msb.run import find_peak, reproduce_command
from msb.submission import command as submission


def parser(project: Project) -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="build.py",
        description="Build reproducible MLPerf Inference images and run them into an MLPerf submission tree.",
        epilog=errors.exit_codes_text(),
        formatter_class=argparse.RawDescriptionHelpFormatter,  # the epilog is a table: its lines stay lines
    )
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # In the order `build.py --help` lists them.
    image.add_parsers(sub, project)
    cluster.add_run_options(run.add_parser(sub, project))
    calibrate.add_parser(sub, project)
    find_peak.add_parser(sub, project)
    cluster_arrays.add_explore_options(explore.add_parser(sub, project))
    reproduce_command.add_parser(sub, project)
    nightly.add_parser(sub, project)
    detect_command.add_parser(sub, project)
    submission.add_report_parser(sub, project)
    datasets.add_parser(sub, project)
    submission.add_parser(sub, project)
    cluster.add_parsers(sub, project)
    cluster_arrays.add_parsers(sub, project)
    return top


def main(argv: Sequence[str] | None = None, project: Project | None = None) -> int:
    project = project or Project.from_here()
    options = parser(project).parse_args(argv)
    try:
        status: int = options.handler(project, options)
        return status
    except MsbError as exc:
        return report(exc)
    except OSError as exc:
        # A file system failure that no edge module named (read-only, full, permission): the path and the cause.
        where = f" {exc.filename}" if exc.filename else ""
        print(f"error: cannot write or read{where}: {exc.strerror or exc}", file=sys.stderr)
        print(
            "  fix: check that the path is on a writable file system with space left and that you may write it",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
