"""`build.py run --slurm` (submit), `build.py status` and `build.py node-run` (a Slurm job's body): their arguments
and bodies. `run`'s own parser lives in msb/run; this module adds the cluster options to it and takes over its
handler, so msb/run never imports the cluster package that drives it."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from rich.console import Console

from msb.cluster import chain as chains
from msb.cluster.array_command import array_status
from msb.cluster.array_submit import read_array
from msb.cluster.node import node_run as run_chain
from msb.cluster.node import read_chain
from msb.cluster.slurm import SlurmCli
from msb.cluster.status import STATES, counted, render, views
from msb.cluster.submit import SubmitInputs
from msb.cluster.submit import submit as submit_chains
from msb.commands import Subparsers, register, status_console
from msb.descriptions.image import load_image_spec
from msb.descriptions.rounds import load_round
from msb.descriptions.system import load_system_spec
from msb.engine import DockerEngine
from msb.errors import EXIT_FAILED_CHECK, MsbError
from msb.project import Project
from msb.run import command as run_command
from msb.run import matrix_run
from msb.run.expdir import identity_for
from msb.run.progress import DONE, FAILED
from msb.submission.check import check_tree
from msb.submission.findings import format_report, has_errors


def add_run_options(run: argparse.ArgumentParser) -> None:
    """`build.py run --slurm`: the matrix of every --system submitted to Slurm instead of run here."""
    run.add_argument(
        "--slurm",
        action="store_true",
        help="matrix: submit one Slurm job per benchmark/scenario chain of each --system (docs/CLUSTER.md)",
    )
    run.add_argument(
        "--image-archives", type=Path, metavar="DIR", help="--slurm: image archives for nodes that lack the image"
    )
    register(run, run_or_submit)


def add_parsers(sub: Subparsers, project: Project) -> None:
    status = sub.add_parser("status", help="the units of a --slurm submission: pending, running, done, failed (why)")
    status.add_argument("experiment", type=Path, help="the experiment folder of a --slurm submission")
    status.add_argument("--wait", action="store_true", help="follow the jobs until they end, then check the tree")
    status.add_argument("--poll", type=float, default=5.0, metavar="S", help="--wait: seconds between looks")
    status.add_argument("--timeout", type=float, metavar="S", help="--wait: give up after S seconds (exit 1)")
    register(status, status_command)
    node = sub.add_parser("node-run", help="(run by a Slurm job) run one chain of a --slurm submission on this node")
    node.add_argument("experiment", type=Path, help="the experiment (the same path on every node)")
    node.add_argument("chain", help="the chain's name, as in <experiment>/.msb/cluster/<chain>.json")
    register(node, node_run)


def run_or_submit(project: Project, args: argparse.Namespace) -> int:
    return submit(project, args) if args.slurm else run_command.command(project, args)


def submit(project: Project, args: argparse.Namespace) -> int:
    """`build.py run --system A [--system B ...] --slurm`."""
    console = status_console()
    if args.mode is not None or args.print_command:
        raise MsbError("--slurm submits the matrix", "drop --mode and --print-command, or drop --slurm")
    if args.keep_going:
        raise MsbError("--keep-going is a local matrix's", "drop it: each chain's job stops at its first failure")
    systems = [load_system_spec(project, name) for name in args.system]
    idents = {s.name: identity_for(s, load_image_spec(project, s.image).gid) for s in systems}
    inputs = SubmitInputs(args.experiment, args.dataset, args.model, args.count, args.image, args.gpus,
                          args.benchmark, args.scenario, args.force, args.image_archives)  # fmt: skip
    done = submit_chains(project, systems, idents, inputs, DockerEngine(), SlurmCli(), lambda t: console.print(t))
    jobs = [s.job for s in done if s.job]
    console.print(f"submitted {len(jobs)} job(s) for {sum(s.units for s in done)} unit(s); follow them with "
                  f"`build.py status {args.experiment} --wait`", soft_wrap=True)  # fmt: skip
    return 0


def node_run(project: Project, args: argparse.Namespace) -> int:
    """`build.py node-run EXPERIMENT CHAIN`: a Slurm job's body."""
    console = status_console()
    outcome = run_chain(project, args.experiment, args.chain, DockerEngine(), os.environ, console)
    for line in matrix_run.summary_lines(outcome):
        console.print(line, soft_wrap=True)
    return EXIT_FAILED_CHECK if outcome.failed or outcome.not_started else 0


def status_command(project: Project, args: argparse.Namespace) -> int:
    """`build.py status EXPERIMENT [--wait]`: each unit's state; with --wait, until the jobs end (or --timeout), then
    the checker's verdict. Exit 0: all done (and, with --wait, the checker found no error); 1 otherwise."""
    experiment = args.experiment.resolve()
    plan = read_array(experiment)
    if plan is not None:
        return array_status(experiment, plan, args.wait, args.poll, args.timeout)
    if not chains.chain_names(experiment):
        raise MsbError(f"{experiment} holds no submission (no {chains.CLUSTER_DIR}/*.json)",
                       "give the --experiment of a `build.py run ... --slurm` (or `explore ... --slurm`)")  # fmt: skip
    slurm = SlurmCli()
    rows = views(experiment, slurm)
    deadline = None if args.timeout is None else time.monotonic() + args.timeout
    said = ""
    while args.wait and any(row.state not in (DONE, FAILED) for row in rows):
        if deadline is not None and time.monotonic() > deadline:
            break
        if counted(rows) != said:  # one line per change while waiting, on stderr
            said = counted(rows)
            print(said, file=sys.stderr, flush=True)
        time.sleep(args.poll)
        rows = views(experiment, slurm)
    out = Console(highlight=False, width=None if sys.stdout.isatty() else 400)  # piped: one line per unit
    out.print(render(rows))
    out.print(counted(rows))
    counts = {state: sum(row.state == state for row in rows) for state in STATES}
    if not args.wait or counts["done"] + counts["failed"] < len(rows):
        return 0 if counts["done"] == len(rows) else EXIT_FAILED_CHECK
    first = read_chain(experiment, chains.chain_names(experiment)[0])
    system = load_system_spec(project, str(experiment / first.system_file))
    findings = check_tree(experiment, load_round(system.round, project.rounds))
    print(format_report(findings, experiment))
    return 0 if counts["done"] == len(rows) and not has_errors(findings) else EXIT_FAILED_CHECK
