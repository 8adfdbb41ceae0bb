"""The cluster commands' arguments and bodies: `run --slurm` (`submit`), `status`, `node-run`. Each body is
`command(project, args) -> int`, for the CLI to dispatch to."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from msb.cluster import chain as chains
from msb.cluster.jobs import Job
from msb.cluster.node import node_run as run_chain
from msb.cluster.node import read_chain
from msb.cluster.slurm import Slurm, SlurmCli
from msb.cluster.submit import SubmitInputs
from msb.cluster.submit import submit as submit_chains
from msb.cluster.unit_status import UnitView, unit_view
from msb.descriptions.image import load_image_spec
from msb.descriptions.rounds import load_round
from msb.descriptions.system import load_system_spec
from msb.engine import DockerEngine
from msb.errors import EXIT_FAILED_CHECK, MsbError
from msb.project import Project
from msb.run import matrix_run
from msb.run.expdir import identity
from msb.run.progress import DONE, FAILED, RUNNING
from msb.run.state import read_states
from msb.submission.check import check_tree
from msb.submission.findings import format_report, has_errors

_STYLE = {DONE: "green", RUNNING: "bold yellow", FAILED: "bold red"}


def add_submit_arguments(run: argparse.ArgumentParser) -> None:
    """`build.py run`'s cluster options (--system may then be given more than once)."""
    run.add_argument("--slurm", action="store_true", help="matrix: submit one Slurm job per benchmark/scenario chain"
                     " of each --system instead of running here (see docs/CLUSTER.md)")  # fmt: skip
    run.add_argument("--image-archives", type=Path, metavar="DIR",
                     help="--slurm: image archives for the nodes that lack the image")  # fmt: skip


def add_status_arguments(status: argparse.ArgumentParser) -> None:
    status.add_argument("experiment", type=Path, help="the experiment folder of a --slurm submission")
    status.add_argument("--wait", action="store_true", help="follow the jobs until they end, then check the tree")
    status.add_argument("--poll", type=float, default=5.0, metavar="S", help="--wait: seconds between looks")
    status.add_argument("--timeout", type=float, metavar="S", help="--wait: give up after S seconds (exit 1)")


def add_node_run_arguments(node: argparse.ArgumentParser) -> None:
    node.add_argument("experiment", type=Path, help="the experiment (the same path on every node)")
    node.add_argument("chain", help="the chain's name, as in <experiment>/.msb/cluster/<chain>.json")


def submit(project: Project, args: argparse.Namespace) -> int:
    """`build.py run --system A [--system B ...] --slurm`."""
    console = Console(stderr=True, highlight=False)
    if args.mode is not None or args.print_command:
        raise MsbError("--slurm submits the matrix", "drop --mode and --print-command, or drop --slurm")
    if args.keep_going:
        raise MsbError("--keep-going is a local matrix's", "drop it: each chain's job stops at its first failure")
    systems = [load_system_spec(project, name) for name in args.system]
    idents = {
        s.name: identity(s.run.uid_when_root, load_image_spec(project, s.image).gid, os.geteuid(), os.environ)
        for s in systems
    }
    inputs = SubmitInputs(args.experiment, args.dataset, args.model, args.count, args.image, args.gpus,
                          args.benchmark, args.scenario, args.force, args.image_archives)  # fmt: skip
    done = submit_chains(project, systems, idents, inputs, DockerEngine(), SlurmCli(), lambda t: console.print(t))
    jobs = [s.job for s in done if s.job]
    console.print(f"submitted {len(jobs)} job(s) for {sum(s.units for s in done)} unit(s); follow them with "
                  f"`build.py status {args.experiment} --wait`", soft_wrap=True)  # fmt: skip
    return 0


def node_run(project: Project, args: argparse.Namespace) -> int:
    """`build.py node-run EXPERIMENT CHAIN`: a Slurm job's body."""
    console = Console(stderr=True, highlight=False)
    outcome = run_chain(project, args.experiment, args.chain, DockerEngine(), os.environ, console)
    for line in matrix_run.summary_lines(outcome):
        console.print(line, soft_wrap=True)
    return EXIT_FAILED_CHECK if outcome.failed or outcome.not_started else 0


def views(experiment: Path, slurm: Slurm) -> list[UnitView]:
    """Every unit of every submitted chain, as status shows it."""
    states = read_states(experiment)
    jobs = chains.chain_jobs(experiment)
    queue = slurm.queue({s.job for s in states.values() if s.job} | set(jobs.values()))
    rows = []
    ended: dict[str, Job | None] = {}
    for name in chains.chain_names(experiment):
        chain = read_chain(experiment, name)
        for run in chain.runs:
            state = states.get(run.key)
            job = (state.job if state else None) or jobs.get(name)
            if job and job not in queue and job not in ended:
                ended[job] = slurm.ended(job)
            rows.append(unit_view(experiment, name, run.key, state, jobs.get(name), queue, ended, Path.is_file))
    return rows


STATES = ("done", "running", "pending", "failed")


def counted(rows: list[UnitView]) -> str:
    return ", ".join(f"{sum(row.state == state for row in rows)} {state}" for state in STATES)


def render(rows: list[UnitView]) -> Table:
    table = Table("unit", "state", "job", "node", "", box=None, pad_edge=False)
    for row in rows:
        style = _STYLE.get(row.state, "dim")
        table.add_row(row.key, f"[{style}]{row.state}[/]", row.job, row.node, row.note)
    return table


def status_command(project: Project, args: argparse.Namespace, console: Console) -> int:
    """The CLI's command signature (console unused: the table goes to stdout)."""
    return status(project, args)


def node_run_command(project: Project, args: argparse.Namespace, console: Console) -> int:
    return node_run(project, args)


def status(project: Project, args: argparse.Namespace) -> int:
    """`build.py status EXPERIMENT [--wait]`: each unit's state; with --wait, until the jobs end (or --timeout), then
    the checker's verdict. Exit 0: all done (and, with --wait, the checker found no error); 1 otherwise."""
    experiment = args.experiment.resolve()
    if not chains.chain_names(experiment):
        raise MsbError(f"{experiment} holds no submission (no {chains.CLUSTER_DIR}/*.json)",
                       "give the --experiment of a `build.py run ... --slurm`")  # fmt: skip
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
