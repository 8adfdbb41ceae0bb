"""`build.py nightly CONFIG`: rebuild images, run a short matrix, compare with a baseline, report."""

from __future__ import annotations

import argparse
from pathlib import Path

from msb.commands import Subparsers, register, status_console
from msb.engine import DockerEngine
from msb.nightly import config, run
from msb.project import Project


def add_parser(sub: Subparsers, project: Project) -> None:
    nightly = sub.add_parser(
        "nightly",
        help="the nightly job: rebuild images, run a short matrix, compare with a baseline, report",
        description="Exit 0: all reproduced (or a first night); 1: a regression or a failure (the report's first"
        " lines name them); 2: it could not run. See docs/NIGHTLY.md.",
    )
    nightly.add_argument("config", type=Path, help="nightly config (YAML), e.g. nightly/demo.yaml")
    register(nightly, command)


def command(project: Project, options: argparse.Namespace) -> int:
    console = status_console()
    night = config.load_config(project, options.config)
    done = run.run_night(project, night, DockerEngine(), lambda text: console.print(text))
    print("\n".join(done.headline))
    print(f"report: {done.report / 'report.html'}, {done.report / 'report.md'}")
    return done.exit_code
