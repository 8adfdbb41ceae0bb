"""`build.py`: the command line. Parses arguments, calls the modules that do the work, reports MsbError as a
message and a fix (no traceback) with a non-zero exit."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import yaml
from rich.console import Console
from rich.table import Table

from harness.contract import SCENARIOS, Outcome
from msb import datasets
from msb.calibrate import artefact
from msb.calibrate import execute as calibrate_execute
from msb.calibrate import plan as calibrate_plan
from msb.cluster import commands as cluster_commands
from msb.descriptions import detect, edit
from msb.descriptions.calibration_lists import load_defaults
from msb.descriptions.image import image_names, load_image_spec
from msb.descriptions.rounds import load_round
from msb.descriptions.system import DEFAULT_ROUND, SystemSpec, load_system_spec, system_names
from msb.engine import DockerEngine, Engine
from msb.errors import (
    EXIT_BAD_INPUT,
    EXIT_FAILED_CHECK,
    ContentDrift,
    EngineUnavailable,
    MsbError,
    RunFailed,
    report,
)
from msb.explore import grid as explore_grid
from msb.explore import render as explore_render
from msb.explore import run as explore_run
from msb.image import bootstrap, builder, lock
from msb.labels import IMAGE_REPOSITORY, LABEL_BACKENDS, NAMESPACE, image_ref, version_label
from msb.nightly import config as nightly_config
from msb.nightly import run as nightly_run
from msb.project import Project
from msb.run import compare, find_peak, find_peak_run, leftovers, manifest, matrix, matrix_run, reproduce, runner
from msb.run.expdir import Identity, identity, prepare
from msb.submission import check, pack, truncate
from msb.submission.report import print_report

EXPERIMENTS = Path("experiments")  # where results go unless --experiment says otherwise


def parser(project: Project) -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="build.py",
        description="Build reproducible MLPerf Inference images and run them into an MLPerf submission tree.",
    )
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    image = sub.add_parser("image", help="render the Dockerfile of an image definition and build it")
    image.add_argument("name", help=f"image definition in images/: {', '.join(image_names(project))}")
    image.add_argument("--dry-run", action="store_true", help="print the rendered Dockerfile; build nothing")
    image.add_argument("--allow-unpinned", action="store_true", help="build from a base that has no digest")
    image.add_argument(
        "--repository", default=IMAGE_REPOSITORY, help="tag as REPOSITORY/NAME:latest and :<git revision>"
    )
    image.add_argument(
        "--verify",
        action="store_true",
        help="then rebuild with no cache and compare the content digests; exit 1 listing the paths that differ",
    )

    lock_cmd = sub.add_parser("lock", help="regenerate an image's hash lock (and its base digest where reachable)")
    lock_cmd.add_argument("name", help=f"image definition in images/: {', '.join(image_names(project))}")
    which = lock_cmd.add_mutually_exclusive_group()
    which.add_argument("--no-base", action="store_true", help="lock the Python wheels only, not the base")
    which.add_argument(
        "--base",
        action="store_true",
        help="lock the base only: a registry base's digest, or bootstrap the base again and accept the Debian"
        " package versions it installs into images/NAME.base.lock",
    )

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
        action="append",  # more than once: with --slurm (msb/cluster)
        help=f"system description in systems/ ({', '.join(system_names(project))}) or a YAML file's path",
    )
    run.add_argument("--benchmark", help="benchmark, as named in the system description (matrix: all)")
    run.add_argument("--scenario", help=f"one of {', '.join(SCENARIOS)} (matrix: those the round requires)")
    run.add_argument("--mode", help="accuracy or performance: one run (needs --benchmark and --scenario)")
    _run_inputs(run)
    run.add_argument("--force", action="store_true", help="matrix: redo runs already complete in the tree")
    run.add_argument("--keep-going", action="store_true", help="matrix: run the rest after a failed run")
    run.add_argument("--print-command", action="store_true", help="print the docker run line and exit")
    cluster_commands.add_submit_arguments(run)  # cluster: --slurm, --image-archives
    cluster_commands.add_status_arguments(  # cluster
        sub.add_parser("status", help="the units of a --slurm submission: pending, running, done, failed (why)")
    )
    cluster_commands.add_node_run_arguments(  # cluster
        sub.add_parser("node-run", help="(run by a Slurm job) run one chain of a --slurm submission on this node")
    )

    cal = sub.add_parser(
        "calibrate",
        help="make the system backend's INT8 artefact from a model and a calibration list, with an accuracy gate",
        description="Runs in the system's image: ONNX Runtime makes MODEL.int8.onnx (a QDQ model, ONNX Runtime's static"
        " quantization), TensorRT MODEL.calib (its entropy calibration cache). Then both models are scored on held-out"
        " images of --dataset; the record MODEL.int8.onnx.json / MODEL.calib.json beside the artefact keeps the hashes,"
        " method, tool versions and both figures. Exit 0: the gate passed; 1: it failed (build.py run refuses the"
        " artefact); 2: bad input.",
    )
    cal.add_argument("--system", required=True, help="system description in systems/ or a YAML file's path")
    cal.add_argument("--benchmark", required=True, help="benchmark, as named in the system description")
    cal.add_argument("--model", type=Path, required=True, help="the full-precision ONNX model (its folder: read-only)")
    cal.add_argument("--dataset", type=Path, required=True, help="the validation set: the gate's held-out images")
    cal.add_argument(
        "--calibration-list",
        type=Path,
        help="image names, one a line (default: MLPerf's list for the benchmark, data/calibration/lists.yaml)",
    )
    cal.add_argument(
        "--calibration-dataset",
        type=Path,
        help="folder of the listed images when they are not in --dataset (COCO's and OpenImages' lists name training"
        " images)",
    )
    cal.add_argument("--output", type=Path, help="folder for the artefact and its record (default: the model's)")
    cal.add_argument("--method", help="onnxruntime: minmax (default), entropy or percentile; tensorrt: entropy")
    cal.add_argument("--gate-samples", type=int, metavar="N", help="held-out images (default: lists.yaml's)")
    cal.add_argument("--experiment", type=Path, default=Path("experiments"), help="scratch and preprocessed cache")
    cal.add_argument("--gpus", help="GPUs for the container, as docker's --gpus (all, 2, device=0,1)")
    cal.add_argument("--image", help="image reference (default: msb/<system's image>:latest)")

    peak = sub.add_parser(
        "find-peak",
        help="search a scenario's best target QPS/latency in the image; write it into the system description",
    )
    peak.add_argument("--system", required=True, help="system description in systems/ or a YAML file's path")
    peak.add_argument("--benchmark", required=True, help="benchmark, as named in the system description")
    peak.add_argument("--scenario", required=True, help=f"one of {', '.join(SCENARIOS)}")
    _run_inputs(peak)
    peak.add_argument("--dry-run", action="store_true", help="print the value found; leave the description as it is")

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
    _run_inputs(explore, experiment_help="the exploration's folder, new or empty (default: "
                "experiments/explore-SYSTEM-BENCHMARK-SCENARIO-TIME)")  # fmt: skip

    repro = sub.add_parser(
        "reproduce",
        help="re-run one result exactly as its manifest records it, into a new experiment, and compare",
        description="TARGET is a manifest (<experiment>/.msb/manifests/...json) or a result unit's folder. Exit 0:"
        " reproduced; 1: it differs (the first line says what); 2: it could not run.",
    )
    repro.add_argument("target", type=Path, help="manifest file or result folder")
    repro.add_argument("--experiment", type=Path, help="where the re-run goes (default: <original>-reproduce-<time>)")
    repro.add_argument(
        "--tolerance",
        type=float,
        metavar="PCT",
        help=f"allowed change of the performance figure, in percent (default {compare.DEFAULT_TOLERANCE_PCT:g} for "
        f"throughput, {compare.DEFAULT_LATENCY_TOLERANCE_PCT:g} for latency percentiles: the demo's measured noise)",
    )
    repro.add_argument("--rebuild", action="store_true", help="rebuild the recorded image if it is gone")

    nightly = sub.add_parser(
        "nightly",
        help="the nightly job: rebuild images, run a short matrix, compare with a baseline, report",
        description="Exit 0: all reproduced (or a first night); 1: a regression or a failure (the report's first"
        ' lines name them); 2: it could not run. See README, "The nightly job".',
    )
    nightly.add_argument("config", type=Path, help="nightly config (YAML), e.g. nightly/demo.yaml")

    system_cmd = sub.add_parser("system", help="system descriptions: detect this host's facts")
    system_sub = system_cmd.add_subparsers(dest="system_action", required=True, metavar="ACTION")
    detect = system_sub.add_parser("detect", help="print a system description with what this host and image tell")
    detect.add_argument("--image", help="image definition whose framework and pins fill the software fields")
    detect.add_argument("--round", help=f"MLPerf round (default: the image's round, else {DEFAULT_ROUND})")
    detect.add_argument("--write", type=Path, metavar="FILE", help="also write it there (refused if it exists)")

    report = sub.add_parser("report", help="list the results in an experiment's submission tree")
    report.add_argument("dir", type=Path, help="experiment directory (holds closed/)")

    datasets_cmd = sub.add_parser("datasets", help="download official models and datasets, verified by checksum")
    datasets_cmd.add_argument(
        "rest", nargs=argparse.REMAINDER, help="list | fetch NAME... --dest DIR | coco --dest DIR"
    )

    submission = sub.add_parser("submission", help="check a submission tree against a round's rules, or pack it")
    submission.add_argument(
        "action",
        choices=["check", "truncate", "pack"],
        help="check: list findings; truncate: accuracy logs (full logs kept outside); pack: tarball + sha256",
    )
    submission.add_argument("rest", nargs=argparse.REMAINDER, help="DIR [--round ROUND] (see `submission check -h`)")
    return top


def _run_inputs(cmd: argparse.ArgumentParser, experiment_help: str | None = None) -> None:
    """The run's inputs; with `experiment_help`, --experiment has no default (the command makes one)."""
    cmd.add_argument("--dataset", type=Path, required=True, help="dataset directory (mounted read-only)")
    cmd.add_argument("--model", type=Path, required=True, help="model file (its folder is mounted read-only)")
    if experiment_help is None:
        cmd.add_argument("--experiment", type=Path, default=EXPERIMENTS, help="results root (default: experiments)")
    else:
        cmd.add_argument("--experiment", type=Path, help=experiment_help)
    cmd.add_argument("--count", type=int, help="use only the first N samples of the dataset")
    cmd.add_argument("--gpus", help="GPUs for the container, as docker's --gpus (all, 2, device=0,1)")
    cmd.add_argument("--image", help="image reference (default: msb/<system's image>:latest)")


def log_line(line: str) -> None:
    """Build output goes out as it arrives, unwrapped, so it reads like `docker build`."""
    print(line, file=sys.stderr, flush=True)


def cmd_image(project: Project, args: argparse.Namespace, console: Console) -> int:
    if args.dry_run:
        try:
            engine: Engine | None = DockerEngine()
        except EngineUnavailable:
            engine = None
        sys.stdout.write(builder.dry_run(project, args.name, engine, args.allow_unpinned))
        return 0
    make = builder.verify if args.verify else builder.build
    built = make(project, args.name, DockerEngine(), args.allow_unpinned, log_line, args.repository)
    console.print(f"[bold green]built[/] {built.image_id} as {', '.join(built.tags)} (base {built.base.from_ref})")
    console.print(f"content sha256:{built.content.sha256} ({len(built.content.entries)} paths)")
    if args.verify:
        console.print("[bold green]verified[/]: a no-cache rebuild has the same content")
    return 0


def cmd_lock(project: Project, args: argparse.Namespace, console: Console) -> int:
    spec = load_image_spec(project, args.name)
    if args.base and spec.base.bootstrap is not None:
        image_id = bootstrap.bootstrap(spec, DockerEngine(), log_line, accept=True)
        console.print(f"base {spec.base.ref}: bootstrapped again as {image_id}, its packages locked")
        return 0
    if not args.base:
        wheels = lock.write_lock(spec)
        console.print(f"wrote {spec.lock_path} ({len(wheels)} wheels)")
    if not args.no_base:
        digest = lock.resolve_base_digest(spec, DockerEngine())
        console.print(f"base {spec.base.ref}: {digest or 'bootstrapped here; its image ID is recorded at build'}")
    return 0


def run_inputs(args: argparse.Namespace, mode: str = "accuracy") -> runner.RunArgs:
    """What `run` and `find-peak` share from the command line; a matrix sets benchmark, scenario, mode per run."""
    return runner.RunArgs(
        benchmark=args.benchmark or "",
        scenario=args.scenario or "",
        mode=mode,
        experiment=args.experiment,
        dataset=args.dataset,
        model=args.model,
        count=args.count,
        image=args.image,
        gpus=args.gpus,
    )


def cmd_run(project: Project, args: argparse.Namespace, console: Console) -> int:
    if args.slurm:  # cluster
        return cluster_commands.submit(project, args)
    if len(args.system) > 1:  # cluster
        raise MsbError("--system more than once submits to a cluster", "add --slurm, or run one system at a time")
    args.system = args.system[0]
    system = load_system_spec(project, args.system)
    image_spec = load_image_spec(project, system.image)
    ident = identity(system.run.uid_when_root, image_spec.gid, os.geteuid(), os.environ)
    if args.mode is None:
        return _run_matrix(project, system, args, ident, console)
    if args.benchmark is None or args.scenario is None:
        raise MsbError("--mode runs one benchmark in one scenario", "give --benchmark and --scenario, or drop --mode")
    run_args = run_inputs(args, mode=args.mode)
    plan = runner.plan(system, run_args, ident)
    if not args.print_command:
        artefact.check_runnable(system, args.benchmark, args.model)
    if args.print_command:
        print(runner.command_line(plan))
        return 0
    if system.benchmarks[args.benchmark].outside_round:
        console.print(f"[yellow]note:[/] {args.benchmark} is outside round {system.round}: not submittable there")
    runner.check_inputs(run_args)
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


def _run_matrix(
    project: Project, system: SystemSpec, args: argparse.Namespace, ident: Identity, console: Console
) -> int:
    profile = load_round(system.round, project.rounds)
    runs = matrix.plan_matrix(system, profile, args.benchmark, args.scenario)
    if args.print_command:
        raise MsbError("--print-command shows one run's docker line", "add --mode (and --benchmark, --scenario)")
    inputs = run_inputs(args)
    runner.check_inputs(inputs)
    calibrated = {}
    for benchmark in sorted({run.benchmark for run in runs}):
        record = artefact.check_runnable(system, benchmark, args.model)
        if record is not None:
            calibrated[benchmark] = artefact.calibration_text(benchmark, record)
    options = matrix_run.MatrixOptions(inputs, force=args.force, keep_going=args.keep_going, calibrated=calibrated)
    console.print(f"[bold]matrix[/] {system.name} in round {profile.name}: {len(runs)} run(s) into {args.experiment}")
    outcome = matrix_run.run_matrix(system, profile, runs, options, DockerEngine(), ident, console)
    for line in matrix_run.summary_lines(outcome):
        console.print(line, soft_wrap=True)
    return 1 if outcome.failed else 0


def cmd_calibrate(project: Project, args: argparse.Namespace, console: Console) -> int:
    system = load_system_spec(project, args.system)
    image_spec = load_image_spec(project, system.image)
    ident = identity(system.run.uid_when_root, image_spec.gid, os.geteuid(), os.environ)
    defaults = load_defaults(project.calibration_lists, args.benchmark)
    inputs = calibrate_plan.CalibrateArgs(
        benchmark=args.benchmark,
        model=args.model,
        dataset=args.dataset,
        experiment=args.experiment,
        calibration_list=args.calibration_list,
        calibration_dataset=args.calibration_dataset,
        output=args.output,
        method=args.method,
        gate_samples=args.gate_samples,
        image=args.image,
        gpus=args.gpus,
    )
    plan = calibrate_plan.plan(system, inputs, defaults, ident)
    calibrate_plan.check_inputs(inputs, plan.calibration_list)
    engine = DockerEngine()
    runner.check_image(plan.container, system.round, system.name, plan.spec.backend.name, engine)
    prepare(plan.experiment, ident)
    leftovers.remove(plan.experiment, engine, lambda text: console.print(f"[yellow]cleanup:[/] {text}"))
    console.print(f"[bold]calibrate[/] {args.benchmark} on {plan.spec.backend.name} in {plan.name}")
    record = calibrate_execute.execute(plan, engine, ident)
    where = f"{plan.destination} (record {calibrate_execute.record_path(plan.destination).name})"
    if not record.gate_passed:
        console.print(
            f"[bold red]gate failed[/]: {record.message}; {where} is kept, and build.py run refuses it", soft_wrap=True
        )
        return 1
    console.print(f"[bold green]calibrated[/] {where}: {record.message}", soft_wrap=True)
    return 0


def cmd_find_peak(project: Project, args: argparse.Namespace, console: Console) -> int:
    system = load_system_spec(project, args.system)
    image_spec = load_image_spec(project, system.image)
    ident = identity(system.run.uid_when_root, image_spec.gid, os.geteuid(), os.environ)
    artefact.check_runnable(system, args.benchmark, args.model)
    peak = find_peak_run.run_find_peak(system, run_inputs(args), ident, DockerEngine(), console)
    shown = edit.format_value(peak.value)
    if args.dry_run or system.path is None:
        console.print(f"peak: {peak.setting}={shown} (description left as it is)")
        return 0
    find_peak.write_peak(system.path, args.benchmark, args.scenario, peak)
    console.print(f"peak: {peak.setting}={shown}, written to {system.path} ({args.benchmark} {args.scenario})")
    return 0


def cmd_explore(project: Project, args: argparse.Namespace, console: Console) -> int:
    batch_sizes = explore_grid.parse_counts("--batch-sizes", args.batch_sizes)
    threads = explore_grid.parse_counts("--threads", args.threads) if args.threads is not None else None
    points = explore_grid.grid(batch_sizes, threads)
    if args.duration_ms is not None and args.duration_ms < 1:
        raise MsbError(
            f"--duration-ms {args.duration_ms} is not a whole number of 1 or more", "e.g. --duration-ms 2000"
        )
    system = load_system_spec(project, args.system)
    image_spec = load_image_spec(project, system.image)
    ident = identity(system.run.uid_when_root, image_spec.gid, os.geteuid(), os.environ)
    system.settings(args.benchmark, args.scenario)  # both name the default folder: known names only
    now = datetime.now(UTC)
    args.experiment = args.experiment or explore_run.default_folder(EXPERIMENTS, system.name, args.benchmark,
                                                                    args.scenario, now)  # fmt: skip
    options = explore_run.ExploreOptions(
        run_inputs(args, mode="performance"), tuple(points), args.duration_ms, args.apply
    )
    done = explore_run.explore(system, options, DockerEngine(), ident, lambda text: console.print(text))
    print(explore_render.headline(done.exploration))
    print(f"report: {done.report / explore_run.SUMMARY_FILE}, {done.report / explore_run.CSV_FILE}")
    if done.exploration.recommendation is None:
        print(
            "error: no point of the grid was VALID, so no setting is recommended and the description is unchanged\n"
            "  fix: read the notes in the summary and the points' logs; try a longer --duration-ms, other batch"
            " sizes, or the scenario's target from `build.py find-peak`",
            file=sys.stderr,
        )
        return EXIT_FAILED_CHECK
    if done.exploration.applied:
        settings = ", ".join(f"{k}: {v}" for k, v in explore_render.applied_settings(done.exploration).items())
        where = f"benchmarks.{args.benchmark}; for {args.scenario} only"
        print(f"applied: {settings} written into {system.path} ({where})")
    return 0


def cmd_reproduce(project: Project, args: argparse.Namespace, console: Console) -> int:
    if args.tolerance is not None and not args.tolerance >= 0:
        raise MsbError(f"--tolerance {args.tolerance} is negative", "give a percentage of 0 or more")
    original = reproduce.find_manifest(args.target)
    experiment = args.experiment or reproduce.default_experiment(original)
    spec = original.data["system"]
    image = load_image_spec(project, str(original.data["image"]["labels"].get(f"{NAMESPACE}.image", "cpu")))
    ident = identity(spec_uid_when_root(spec), image.gid, os.geteuid(), os.environ)
    engine = DockerEngine()
    comparison = reproduce.reproduce(
        original, experiment, args.tolerance, args.rebuild, engine, ident, lambda text: console.print(text)
    )
    json_path, md_path = reproduce.write_comparison(experiment.resolve(), comparison)
    first = comparison.first_difference
    if first is None:
        print(f"reproduced {comparison.unit}")
    else:
        print(
            f"DIFFERS: {first.what}: {first.original} -> {first.reproduced}"
            + (f" ({first.note})" if first.note else "")
        )
    table = Table("check", "original", "reproduced", "same", "note", title=f"{comparison.unit}")
    for row in comparison.checks:
        table.add_row(row.what, row.original, row.reproduced, "yes" if row.ok else "[bold red]NO[/]", row.note)
    Console(highlight=False, width=None if sys.stdout.isatty() else 160).print(table)
    print(f"comparison: {json_path}, {md_path}")
    return 0 if comparison.reproduced else 1


def cmd_nightly(project: Project, args: argparse.Namespace, console: Console) -> int:
    config = nightly_config.load_config(project, args.config)
    done = nightly_run.run_night(project, config, DockerEngine(), lambda text: console.print(text))
    print("\n".join(done.headline))
    print(f"report: {done.report / 'report.html'}, {done.report / 'report.md'}")
    return done.exit_code


def spec_uid_when_root(system: dict[str, object]) -> int:
    """The recorded description's run.uid_when_root (the run is re-made as the same container user)."""
    data = yaml.safe_load(str(system.get("description") or "")) or {}
    run = data.get("run") or {}
    value = run.get("uid_when_root", 15000) if isinstance(run, dict) else 15000
    return value if isinstance(value, int) and value > 0 else 15000


def cmd_system(project: Project, args: argparse.Namespace, console: Console) -> int:
    framework: str | None = None
    stack: list[str] = []
    image_name = args.image
    # An image carries one round's LoadGen and a run refuses any other round, so its round is the only useful default.
    round_name: str = args.round or DEFAULT_ROUND
    if args.image:
        spec = load_image_spec(project, args.image)
        round_name = args.round or spec.round
        try:
            labels = DockerEngine().image_labels(image_ref(spec.name))
        except MsbError:
            # Not built here: the definition's pins say the same about the framework.
            labels = {LABEL_BACKENDS: ",".join(spec.backends)}
            labels.update({version_label(k): v for k, v in spec.versions.items()})
        framework, stack = detect.framework_from(labels, spec.requirements)
    profile = load_round(round_name, project.rounds)
    text = detect.description(detect.host_facts(), profile, image_name, framework, stack)
    if args.write:
        if args.write.exists():
            raise MsbError(f"{args.write} exists", "choose a new file name; detect never overwrites a description")
        args.write.write_text(text)
        console.print(f"wrote {args.write}: fill in its TODO fields and benchmarks, then `build.py run --system`")
    sys.stdout.write(text)
    return 0


def cmd_report(project: Project, args: argparse.Namespace, console: Console) -> int:
    if not args.dir.is_dir():
        raise MsbError(f"experiment directory {args.dir} does not exist", "pass the --experiment folder of your runs")
    # Wide enough for the paths and accuracy lines when piped (rich assumes 80 columns off a terminal).
    count = print_report(args.dir, Console(highlight=False, width=None if sys.stdout.isatty() else 160))
    return 0 if count else 1


def cmd_submission(project: Project, args: argparse.Namespace, console: Console) -> int:
    # The submission tools parse their own arguments; they are usable on their own as library functions too.
    return {"check": check.main, "truncate": truncate.main, "pack": pack.main}[args.action](args.rest)


def cmd_datasets(project: Project, args: argparse.Namespace, console: Console) -> int:
    return datasets.main(args.rest)


COMMANDS = {
    "calibrate": cmd_calibrate,
    "datasets": cmd_datasets,
    "image": cmd_image,
    "lock": cmd_lock,
    "run": cmd_run,
    "find-peak": cmd_find_peak,
    "explore": cmd_explore,
    "system": cmd_system,
    "reproduce": cmd_reproduce,
    "nightly": cmd_nightly,
    "report": cmd_report,
    "submission": cmd_submission,
    "status": cluster_commands.status_command,  # cluster
    "node-run": cluster_commands.node_run_command,  # cluster
}


def main(argv: Sequence[str] | None = None, project: Project | None = None) -> int:
    project = project or Project.from_here()
    args = parser(project).parse_args(argv)
    console = Console(stderr=True, highlight=False)
    try:
        return COMMANDS[args.command](project, args, console)
    except ContentDrift as exc:
        print(f"error: {exc}", file=sys.stderr)  # a failed check, not bad input
        return EXIT_FAILED_CHECK
    except RunFailed as exc:
        # A run that failed or was interrupted: 1, as a failed check; the harness refusing an input is bad input (2).
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT if isinstance(exc, runner.RunRefused) else EXIT_FAILED_CHECK
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
