"""`build.py run` without --mode: the system's run matrix, with progress, per-run logs, resume and truncation.

State lives in <experiment>/.msb/: state/<run>.json (msb/run/state.py: each run's last state and, from the
harness's record, the result units it placed and its accuracy folders), logs/<run>.log (the container's output) and
full-accuracy-logs/ (the logs truncation keeps outside the submission tree). The tree's paths come from the records,
never re-derived.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from harness.contract import ACCURACY, Outcome, RunRecord
from harness.contract.layout import SubmitterLayout, layout_of_round
from msb.descriptions.rounds import RoundProfile
from msb.descriptions.system import SystemSpec
from msb.engine import Engine
from msb.errors import RunFailed
from msb.hashing import file_sha256
from msb.paths import atomic_write, inside
from msb.run import leftovers, manifest, matrix, runner
from msb.run.audit import render_audit_config
from msb.run.calibration_doc import calibration_doc
from msb.run.expdir import Identity, give_to_invoker, prepare
from msb.run.matrix import MatrixRun
from msb.run.progress import DONE, FAILED, RUNNING, SKIPPED, MatrixProgress
from msb.run.state import RunState, files_present, read_states, write_state
from msb.submission.truncate import (
    ACCURACY_LOG,
    ACCURACY_TXT,
    TRUNCATED_MAX_BYTES,
    AlreadyTruncated,
    recorded_hash,
    truncate_accuracy_dir,
)

LOGS_DIR = ".msb/logs"
FULL_LOGS_DIR = ".msb/full-accuracy-logs"


@dataclass(frozen=True)
class MatrixOptions:
    inputs: runner.RunArgs  # what every run shares (experiment, dataset, model, count, image, gpus)
    force: bool = False
    keep_going: bool = False
    calibrated: Mapping[str, str] = field(default_factory=dict)  # INT8 benchmark -> its calibration.md text
    job: str | None = None  # the Slurm job running these units (`build.py node-run`), recorded in their states
    node: str | None = None  # that job's node


@dataclass(frozen=True)
class MatrixOutcome:
    ran: list[str]
    skipped: list[str]
    failed: list[str]
    not_started: list[str]
    unverified: list[str]  # compliance tests whose results are placed but whose verification did not pass


def write_calibration(experiment: Path, system: SystemSpec, calibrated: Mapping[str, str] | None = None) -> Path:
    tree = SubmitterLayout(system.division, system.submitter, layout_of_round(system.round))
    path = inside(experiment, experiment / tree.calibration_doc, "calibration.md")
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = path.read_text() if path.is_file() else None
    text = calibration_doc(existing, system, calibrated)
    if text != existing:
        atomic_write(path, text)
    return path


def backup_path(experiment: Path, accuracy_dir: Path) -> Path:
    """Where the full log of an accuracy folder (relative to the experiment) is kept, outside the tree."""
    return inside(experiment, experiment / FULL_LOGS_DIR / accuracy_dir / ACCURACY_LOG, "the full accuracy log")


def truncate_group(experiment: Path, runs: list[MatrixRun], states: Mapping[str, RunState]) -> list[Path]:
    """Truncate the accuracy logs of one finished benchmark/scenario; already truncated ones are left alone."""
    done = []
    for run in runs:
        for relative in (Path(d) for d in states[run.key].accuracy_dirs):
            accuracy_dir = inside(experiment, experiment / relative, "an accuracy folder")
            backup = backup_path(experiment, relative)
            # A backup that differs from an untruncated log belongs to a result a redone run replaced: it goes too.
            fresh = not recorded_hash(accuracy_dir / ACCURACY_TXT)
            if fresh and backup.is_file() and file_sha256(backup) != file_sha256(accuracy_dir / ACCURACY_LOG):
                backup.unlink()
            try:
                truncate_accuracy_dir(accuracy_dir, backup)
            except AlreadyTruncated:
                continue
            done.append(accuracy_dir)
    return done


def restore_full_log(experiment: Path, accuracy_dir: Path) -> bool:
    """Put the full accuracy log back before a TEST01 run, whose verification compares it with its own log.

    accuracy.txt keeps its hash line, so truncation afterwards checks the restored log against it."""
    log, backup = experiment / accuracy_dir / ACCURACY_LOG, backup_path(experiment, accuracy_dir)
    recorded = recorded_hash(experiment / accuracy_dir / ACCURACY_TXT)
    if not recorded or not log.is_file() or log.stat().st_size > TRUNCATED_MAX_BYTES:
        return False
    if not backup.is_file() or file_sha256(backup) != recorded:
        raise RunFailed(
            f"{log} is truncated and its full log is not in {backup} (or does not match the recorded hash)",
            "restore the full log there, or redo the accuracy run (build.py run ... --force)",
        )
    fd, tmp = tempfile.mkstemp(prefix=f".{ACCURACY_LOG}.", dir=log.parent)
    os.close(fd)
    shutil.copyfile(backup, tmp)
    os.chmod(tmp, 0o664)
    os.replace(tmp, log)
    return True


def run_matrix(
    system: SystemSpec,
    profile: RoundProfile,
    runs: list[MatrixRun],
    options: MatrixOptions,
    engine: Engine,
    ident: Identity,
    console: Console,
) -> MatrixOutcome:
    """Run what the plan says, skipping runs already complete; stop at the first failure unless keep_going."""
    experiment = options.inputs.experiment.resolve()
    check_before_start(system, runs, options, engine, ident)
    prepare(experiment, ident)  # before anything is written there: an unusable folder fails here, naming it
    leftovers.remove(experiment, engine, lambda text: console.print(f"[yellow]cleanup:[/] {text}"))
    states = read_states(experiment)
    progress = MatrixProgress([r.key for r in runs], console)
    ran: list[str] = []
    skipped: list[str] = []
    failed: list[str] = []
    unverified: list[str] = []
    stopped = False
    with progress.shown():
        for group in matrix.groups(runs):
            for run in group:
                if stopped:
                    break
                state = states.get(run.key)
                present = files_present(experiment, state)
                if not matrix.needs_run(state.state if state else None, present, options.force):
                    progress.update(run.key, SKIPPED, "complete in the tree")
                    skipped.append(run.key)
                    continue
                progress.update(run.key, RUNNING)
                started = time.monotonic()
                try:
                    record = _run_one(run, system, profile, options, experiment, engine, ident, states)
                except RunFailed as exc:
                    states[run.key] = RunState(
                        FAILED, seconds=time.monotonic() - started, job=options.job, node=options.node,
                        reason=exc.message.splitlines()[0][:300],
                    )  # fmt: skip
                    write_state(experiment, run.key, states[run.key])
                    failed.append(run.key)
                    progress.update(run.key, FAILED, f"log: {experiment / LOGS_DIR / run.key}.log")
                    console.print(f"[bold red]{run.key} failed:[/] {exc}", soft_wrap=True)
                    stopped = isinstance(exc, runner.RunInterrupted) or not options.keep_going
                    continue
                states[run.key] = RunState(
                    DONE, record.files, record.accuracy_dirs, time.monotonic() - started, options.job, options.node
                )
                write_state(experiment, run.key, states[run.key])
                ran.append(run.key)
                note = _verdict_note(record)
                if note:
                    unverified.append(run.key)
                progress.update(run.key, DONE, note)
            if matrix.group_complete(group, {k: v.state for k, v in states.items()}):
                truncate_group(experiment, group, states)
        write_calibration(experiment, system, options.calibrated)
    give_to_invoker(experiment, ident)
    done = set(ran) | set(skipped) | set(failed)
    return MatrixOutcome(ran, skipped, failed, [r.key for r in runs if r.key not in done], unverified)


def _run_one(
    run: MatrixRun,
    system: SystemSpec,
    profile: RoundProfile,
    options: MatrixOptions,
    experiment: Path,
    engine: Engine,
    ident: Identity,
    states: Mapping[str, RunState],
) -> RunRecord:
    """One run; returns the harness's record (a compliance test may have placed results that failed verification)."""
    audit = render_audit_config(profile, run.compliance, run.benchmark) if run.compliance else None
    if run.compliance == "TEST01":
        # Its verification compares its log with the submission's full accuracy log, which may be truncated by now.
        baseline = states.get(matrix.MatrixRun(run.system, run.benchmark, run.scenario, ACCURACY).key)
        if baseline is not None and baseline.accuracy_dirs:
            restore_full_log(experiment, Path(baseline.accuracy_dirs[0]))
    plan = runner.plan(system, _run_args(run, options, experiment, audit), ident)
    write_state(experiment, run.key, RunState(RUNNING, job=options.job, node=options.node))
    log = inside(experiment, experiment / LOGS_DIR / f"{run.key}.log", "the run's log")
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        record = runner.execute(plan, engine, ident, on_output=lambda line: print(line, file=out, flush=True))
    placement = manifest.Placement(options.node, options.job) if options.node else None
    manifest.record_result(plan, record, system, engine, placement)
    return record


def _run_args(run: MatrixRun, options: MatrixOptions, experiment: Path, audit: str | None = None) -> runner.RunArgs:
    return dataclasses.replace(
        options.inputs,
        benchmark=run.benchmark,
        scenario=run.scenario,
        mode=run.mode,
        experiment=experiment,
        compliance=run.compliance,
        audit_config=audit,
    )


def check_before_start(
    system: SystemSpec, runs: list[MatrixRun], options: MatrixOptions, engine: Engine, ident: Identity
) -> None:
    """Image, round, backend and GPUs checked once per benchmark before any run, so a matrix that cannot run
    fails at once rather than after hours of runs."""
    firsts = {run.benchmark: run for run in reversed(runs)}
    for run in firsts.values():
        plan = runner.plan(system, _run_args(run, options, options.inputs.experiment.resolve()), ident)
        runner.check_engine(plan, engine)


def _verdict_note(record: RunRecord) -> str:
    """A compliance test that placed its results and failed verification is a finished run (the checker reports
    it): its note names the failing verification."""
    if record.outcome is not Outcome.VERIFICATION_FAILED:
        return ""
    failing = [name for name, verdict in record.verifications.items() if "PASS" not in verdict]
    return f"placed, but {', '.join(failing) or 'verification'} says TEST FAIL"


def summary_lines(outcome: MatrixOutcome) -> list[str]:
    unverified = (
        [
            f"{len(outcome.unverified)} compliance test(s) placed but not passing verification: "
            f"{', '.join(outcome.unverified)} (`build.py submission check` explains; shortened runs always fail it)"
        ]
        if outcome.unverified
        else []
    )
    lines = [
        f"{len(outcome.ran)} run(s) done, {len(outcome.skipped)} skipped (complete), {len(outcome.failed)} failed"
        + (f", {len(outcome.not_started)} not started" if outcome.not_started else "")
    ]
    if outcome.failed and outcome.not_started:
        lines.append("stopped at the first failure; results already in the tree are kept. Fix it and run again to")
        lines.append("resume (complete runs are skipped), or pass --keep-going to run the rest regardless.")
    elif outcome.failed:
        lines.append("run the same command again to redo the failed run(s); complete runs are skipped.")
    return lines + unverified
