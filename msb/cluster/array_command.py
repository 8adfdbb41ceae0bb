"""`build.py explore ... --slurm` (one job array for the grid), `build.py node-task` (an array task's body: its
point), `build.py node-finish` (the job after the array: the report) and `build.py status` of an array submission.
explore's own parser lives in msb/explore; this module adds the cluster options to it and takes over its handler."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from rich.console import Console

from msb.cluster import explore_array
from msb.cluster.array import FINISH, ArrayPlan
from msb.cluster.array_submit import array_views
from msb.cluster.slurm import SlurmCli
from msb.cluster.status import STATES, counted, render
from msb.commands import Subparsers, register, status_console
from msb.engine import DockerEngine
from msb.errors import EXIT_FAILED_CHECK, MsbError
from msb.explore import command as explore_command
from msb.explore import run as explore_run
from msb.explore.render import RECOMMENDED
from msb.project import Project
from msb.run.progress import DONE, FAILED


def add_explore_options(explore: argparse.ArgumentParser) -> None:
    explore.add_argument("--slurm", action="store_true",
                         help="submit the grid as one Slurm job array, one task per point; the report is written by a"
                         " job after it (docs/CLUSTER.md)")  # fmt: skip
    explore.add_argument(
        "--image-archives", type=Path, metavar="DIR", help="--slurm: image archives for nodes that lack the image"
    )
    register(explore, explore_or_submit)


def add_parsers(sub: Subparsers, project: Project) -> None:
    task = sub.add_parser("node-task", help="(run by a Slurm array task) run the task's point of a --slurm submission")
    task.add_argument("experiment", type=Path, help="the experiment (the same path on every node)")
    register(task, node_task)
    finish = sub.add_parser("node-finish", help="(run by a Slurm job after an array) write the submission's report")
    finish.add_argument("experiment", type=Path, help="the experiment (the same path on every node)")
    register(finish, node_finish)


def explore_or_submit(project: Project, args: argparse.Namespace) -> int:
    if not args.slurm:
        return explore_command.command(project, args)
    console = status_console()
    system, ident, settings = explore_command.settings_of(project, args)
    done = explore_array.submit_explore(project, system, settings, ident, DockerEngine(), SlurmCli(),
                                        args.image_archives, lambda t: console.print(t, soft_wrap=True))  # fmt: skip
    console.print(f"submitted {len(done.tasks)} point(s); follow them with `build.py status "
                  f"{settings.inputs.experiment} --wait`", soft_wrap=True)  # fmt: skip
    return 0


def node_task(project: Project, args: argparse.Namespace) -> int:
    """`build.py node-task EXPERIMENT`: an array task's body, its point chosen by SLURM_ARRAY_TASK_ID."""
    console = status_console()
    result = explore_array.run_task(args.experiment, DockerEngine(), os.environ, lambda t: console.print(t))
    return 0 if result.status not in ("FAILED", "REFUSED") else EXIT_FAILED_CHECK


def node_finish(project: Project, args: argparse.Namespace) -> int:
    """`build.py node-finish EXPERIMENT`: the report, once every task has ended."""
    exploration, report = explore_array.finish(args.experiment)
    return explore_command.report_verdict(exploration, report)


def array_status(experiment: Path, plan: ArrayPlan, wait: bool, poll: float, timeout: float | None) -> int:
    """Each point and the finishing job; with `wait`, until they have all ended (or `timeout`), then the report's
    headline. Exit 0: every point done and the report written (with a recommendation, once waited for)."""
    slurm = SlurmCli()
    rows = array_views(experiment, plan, slurm)
    deadline = None if timeout is None else time.monotonic() + timeout
    said = ""
    while wait and any(row.state not in (DONE, FAILED) for row in rows):
        if deadline is not None and time.monotonic() > deadline:
            break
        if counted(rows) != said:
            said = counted(rows)
            print(said, file=sys.stderr, flush=True)
        time.sleep(poll)
        rows = array_views(experiment, plan, slurm)
    out = Console(highlight=False, width=None if sys.stdout.isatty() else 400)
    out.print(render(rows))
    points = [row for row in rows if row.key != FINISH]
    out.print(counted(points) + f" point(s); report job: {rows[-1].state}")
    counts = {state: sum(row.state == state for row in points) for state in STATES}
    report = experiment / explore_run.REPORT_DIR
    if not wait or rows[-1].state not in (DONE, FAILED):
        return 0 if counts["done"] == len(points) and report.is_dir() else EXIT_FAILED_CHECK
    if not (report / explore_run.SUMMARY_FILE).is_file():
        raise MsbError(f"the report job ended ({rows[-1].note or rows[-1].state}) without writing {report}",
                       f"read its log in {experiment / '.msb' / 'logs'}, then resubmit")  # fmt: skip
    first_line = (report / explore_run.SUMMARY_FILE).read_text().partition("\n")[0]  # the report's headline
    print(first_line)
    print(f"report: {report / explore_run.SUMMARY_FILE}, {report / explore_run.CSV_FILE}")
    return 0 if counts["done"] == len(points) and first_line.startswith(RECOMMENDED) else EXIT_FAILED_CHECK
