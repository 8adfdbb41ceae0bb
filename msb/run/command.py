"""`build.py run`: one run (--mode), or the matrix the system's round requires, into the submission tree."""

from __future__ import annotations

import argparse

from harness.contract import SCENARIOS, Outcome
from msb.commands import Subparsers, register, status_console
from msb.descriptions.image import load_image_spec
from msb.descriptions.rounds import load_round
from msb.descriptions.system import SystemSpec, load_system_spec, system_names
from msb.engine import DockerEngine
from msb.errors import MsbError
from msb.project import Project
from msb.run import artefact, leftovers, manifest, matrix, matrix_run, runner
from msb.run.arguments import add_run_inputs, run_args
from msb.run.expdir import Identity, identity_for, prepare


def add_parser(sub: Subparsers, project: Project) -> argparse.ArgumentParser:
    run = sub.add_parser(
        "run",
        help="run the harness in its image, results into the MLPerf submission layout",
        description="With --mode: one run. Without --mode: the run matrix the system's round requires (accuracy,"
        " performance, compliance tests per benchmark and scenario), or the slice --benchmark/--scenario select;"
        " runs already complete in the tree are skipped.",
    )
    run.add_argument(
        "--system",
        required=True,
        action="append",
        help=f"system description in systems/ ({', '.join(system_names(project))}) or a YAML file's path;"
        " more than once with --slurm",
    )
    run.add_argument("--benchmark", help="benchmark, as named in the system description (matrix: all)")
    run.add_argument("--scenario", help=f"one of {', '.join(SCENARIOS)} (matrix: those the round requires)")
    run.add_argument("--mode", help="accuracy or performance: one run (needs --benchmark and --scenario)")
    add_run_inputs(run)
    run.add_argument("--force", action="store_true", help="matrix: redo runs already complete in the tree")
    run.add_argument("--keep-going", action="store_true", help="matrix: run the rest after a failed run")
    run.add_argument("--print-command", action="store_true", help="print the docker run line and exit")
    register(run, command)
    return run


def command(project: Project, options: argparse.Namespace) -> int:
    if len(options.system) > 1:
        raise MsbError("--system more than once submits every system's matrix to a cluster", "add --slurm")
    system = load_system_spec(project, options.system[0])
    ident = identity_for(system, load_image_spec(project, system.image).gid)
    if options.mode is None:
        return _run_matrix(project, system, options, ident)
    if options.benchmark is None or options.scenario is None:
        raise MsbError("--mode runs one benchmark in one scenario", "give --benchmark and --scenario, or drop --mode")
    console = status_console()
    inputs = run_args(options, mode=options.mode)
    plan = runner.plan(system, inputs, ident)
    if options.print_command:
        print(runner.command_line(plan))
        return 0
    artefact.check_runnable(system, options.benchmark, options.model)
    if system.benchmarks[options.benchmark].outside_round:
        console.print(f"[yellow]note:[/] {options.benchmark} is outside round {system.round}: not submittable there")
    runner.check_inputs(inputs)
    engine = DockerEngine()
    runner.check_engine(plan, engine)
    prepare(plan.experiment, ident)
    leftovers.remove(plan.experiment, engine, lambda text: console.print(f"[yellow]cleanup:[/] {text}"))
    console.print(f"[bold]run[/] {plan.name} as uid {plan.container.user}")
    record = runner.execute(plan, engine, ident)
    manifest_path, _sha = manifest.record_result(plan, record, system, engine)
    where = ", ".join(record.units[:1])
    if record.outcome is Outcome.VERIFICATION_FAILED:
        console.print(f"[bold red]placed[/] {where}, but its verification failed: {record.message}")
        return 1
    console.print(f"[bold green]placed[/] {where}; manifest {manifest_path}")
    return 0


def _run_matrix(project: Project, system: SystemSpec, options: argparse.Namespace, ident: Identity) -> int:
    console = status_console()
    profile = load_round(system.round, project.rounds)
    runs = matrix.plan_matrix(system, profile, options.benchmark, options.scenario)
    if options.print_command:
        raise MsbError("--print-command shows one run's docker line", "add --mode (and --benchmark, --scenario)")
    inputs = run_args(options)
    runner.check_inputs(inputs)
    calibrated = {}
    for benchmark in sorted({run.benchmark for run in runs}):
        record = artefact.check_runnable(system, benchmark, options.model)
        if record is not None:
            calibrated[benchmark] = artefact.calibration_text(benchmark, record)
    settings = matrix_run.MatrixOptions(
        inputs, force=options.force, keep_going=options.keep_going, calibrated=calibrated
    )
    console.print(
        f"[bold]matrix[/] {system.name} in round {profile.name}: {len(runs)} run(s) into {options.experiment}"
    )
    outcome = matrix_run.run_matrix(system, profile, runs, settings, DockerEngine(), ident, console)
    for line in matrix_run.summary_lines(outcome):
        console.print(line, soft_wrap=True)
    return 1 if outcome.failed else 0
