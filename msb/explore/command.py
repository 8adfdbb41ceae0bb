"""`build.py explore`: short performance runs over a grid of batch sizes (and threads), a report, a recommendation."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from harness.contract import SCENARIOS
from msb.commands import Subparsers, register, status_console
from msb.descriptions.image import load_image_spec
from msb.descriptions.system import SystemSpec, load_system_spec
from msb.engine import DockerEngine
from msb.errors import EXIT_FAILED_CHECK, MsbError
from msb.explore import grid, render, run
from msb.explore.render import Exploration
from msb.project import Project
from msb.run.arguments import EXPERIMENTS, add_run_inputs, run_args
from msb.run.expdir import Identity, identity_for


def add_parser(sub: Subparsers, project: Project) -> argparse.ArgumentParser:
    explore = sub.add_parser(
        "explore",
        help="short performance runs over a grid of batch sizes (and threads): CSV, plots, a recommended setting",
        description="One short performance run per grid point in the system's image, each an experiment of its own"
        " with its manifest, then report/ with results.csv, plots and summary.md, which recommends a setting. Exit 0:"
        " a setting is recommended; 1: no point was VALID (or a run was interrupted); 2: bad input.",
    )
    explore.add_argument("--system", required=True, help="system description in systems/ or a YAML file's path")
    explore.add_argument("--benchmark", required=True, help="benchmark, as named in the system description")
    explore.add_argument("--scenario", required=True, help=f"one of {', '.join(SCENARIOS)}")
    explore.add_argument("--batch-sizes", required=True, metavar="N,N,...", help="batch sizes to run, e.g. 1,8,32")
    explore.add_argument("--threads", metavar="N,N,...", help="thread counts to run with each batch size (default:"
                         " the description's)")  # fmt: skip
    explore.add_argument(
        "--duration-ms", type=int, metavar="MS", help="each run's min_duration_ms (default: the description's)"
    )
    explore.add_argument(
        "--apply",
        action="store_true",
        help="write the recommended batch size (and threads) into the system description, for the explored "
        "scenario only",
    )
    add_run_inputs(explore, experiment_help="the exploration's folder, new or empty (default: "
                   "experiments/explore-SYSTEM-BENCHMARK-SCENARIO-TIME)")  # fmt: skip
    register(explore, command)
    return explore


def settings_of(project: Project, options: argparse.Namespace) -> tuple[SystemSpec, Identity, run.ExploreOptions]:
    """The system, its identity and the exploration's settings from the command line, checked; the default folder
    named. Shared with `--slurm` (msb/cluster), which submits what this plans."""
    batch_sizes = grid.parse_counts("--batch-sizes", options.batch_sizes)
    threads = grid.parse_counts("--threads", options.threads) if options.threads is not None else None
    points = grid.grid(batch_sizes, threads)
    if options.duration_ms is not None and options.duration_ms < 1:
        raise MsbError(
            f"--duration-ms {options.duration_ms} is not a whole number of 1 or more", "e.g. --duration-ms 2000"
        )
    system = load_system_spec(project, options.system)
    ident = identity_for(system, load_image_spec(project, system.image).gid)
    system.settings(options.benchmark, options.scenario)  # both name the default folder: known names only
    now = datetime.now(UTC)
    options.experiment = options.experiment or run.default_folder(EXPERIMENTS, system.name, options.benchmark,
                                                                  options.scenario, now)  # fmt: skip
    settings = run.ExploreOptions(
        run_args(options, mode="performance"), tuple(points), options.duration_ms, options.apply
    )
    return system, ident, settings


def command(project: Project, options: argparse.Namespace) -> int:
    console = status_console()
    system, ident, settings = settings_of(project, options)
    done = run.explore(system, settings, DockerEngine(), ident, lambda text: console.print(text))
    code = report_verdict(done.exploration, done.report)
    if code == 0 and done.exploration.applied:
        applied = ", ".join(f"{k}: {v}" for k, v in render.applied_settings(done.exploration).items())
        where = f"benchmarks.{options.benchmark}; for {options.scenario} only"
        print(f"applied: {applied} written into {system.path} ({where})")
    return code


def report_verdict(exploration: Exploration, report: Path) -> int:
    """The headline, where the report is, and the exit status: 0 when a setting is recommended."""
    print(render.headline(exploration))
    print(f"report: {report / run.SUMMARY_FILE}, {report / run.CSV_FILE}")
    if exploration.recommendation is None:
        print(
            "error: no point of the grid was VALID, so no setting is recommended and the description is unchanged\n"
            "  fix: read the notes in the summary and the points' logs; try a longer --duration-ms, other batch"
            " sizes, or the scenario's target from `build.py find-peak`",
            file=sys.stderr,
        )
        return EXIT_FAILED_CHECK
    return 0
