"""Run a planned calibration in its image and move what it made into place: the artefact, then its record.

The harness writes the artefact and record.json into the run folder; the host copies the artefact next to the model
(or to --output) through a temporary name and writes the record after it, so an interrupted placement leaves a record
that does not match its artefact, which `build.py run` refuses, never a half-written artefact with a valid record.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from collections import deque
from collections.abc import Callable
from pathlib import Path

from harness.contract import Outcome
from harness.contract.calibration import (
    RECORD_SUFFIX,
    CalibrationRecord,
    calibration_record_from_json,
    calibration_to_json,
)
from msb.calibrate.plan import CalibrationPlan
from msb.engine import Engine
from msb.errors import RunFailed
from msb.paths import atomic_write
from msb.run import runner
from msb.run.expdir import Identity, prepare


def execute(
    plan: CalibrationPlan, engine: Engine, ident: Identity, on_output: Callable[[str], None] = print
) -> CalibrationRecord:
    """The placed record (gate passed or failed: `record.gate_passed` says); raises RunRefused/RunFailed/
    RunInterrupted when nothing was made."""
    tail: deque[str] = deque(maxlen=runner.LOG_TAIL_LINES)
    prepare(plan.experiment, ident)

    def read(run_dir: Path, status: int) -> CalibrationRecord:
        record = runner.read_record(run_dir, status, tail, calibration_record_from_json, "calibration record")
        if record.outcome in (Outcome.PLACED, Outcome.VERIFICATION_FAILED):
            return place(plan, run_dir / record.artefact, record)
        return record

    record = runner.contained(plan, engine, ident, runner.keeping(tail, on_output), read)
    if record.outcome in (Outcome.PLACED, Outcome.VERIFICATION_FAILED):
        return record
    text = record.message + runner.shown(tail)
    if record.outcome is Outcome.REFUSED:
        raise runner.RunRefused(f"the harness refused calibration {plan.name}: {text}", "fix the input it names")
    if record.outcome is Outcome.INTERRUPTED:
        raise runner.RunInterrupted(f"calibration {plan.name} was interrupted: {text}", "nothing was placed")
    raise RunFailed(f"calibration {plan.name} failed: {text}", "read the harness output; nothing was placed")


def record_path(artefact: Path) -> Path:
    return artefact.with_name(artefact.name + RECORD_SUFFIX)


def place(plan: CalibrationPlan, made: Path, record: CalibrationRecord) -> CalibrationRecord:
    """Copy the artefact to its destination, then write its record naming the host's model and list."""
    destination = plan.destination
    record = dataclasses.replace(record, model=str(plan.model), calibration_list=str(plan.calibration_list))
    fd, partial = tempfile.mkstemp(prefix=f".{destination.name}.", dir=destination.parent)
    os.close(fd)
    try:
        shutil.copyfile(made, partial)
        os.chmod(partial, 0o644)
        os.replace(partial, destination)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    atomic_write(record_path(destination), calibration_to_json(record))
    return record
