"""`python -m harness`: the image's entrypoint. `run` measures one benchmark scenario with MLPerf LoadGen.

Bad input ends the program with one line naming the input and the fix (exit status 2); an interrupted run
(SIGINT/SIGTERM) leaves no result in the submission tree (exit status 130/143).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import sys
import tempfile
import threading
import traceback
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from types import FrameType

from harness.backends.base import BackendError
from harness.backends.registry import UnknownBackendError
from harness.benchmarks.base import DatasetError
from harness.benchmarks.options import BenchmarkOptionError
from harness.benchmarks.registry import UnknownBenchmarkError
from harness.cache import CacheError
from harness.compliance.results import MissingResultsError
from harness.compliance.verify import ComplianceError
from harness.contract import (
    FIND_PEAK_TRIAL_MS,
    ContractError,
    Exit,
    Outcome,
    RunRecord,
    RunSpec,
    spec_from_json,
    to_json,
)
from harness.contract.calibration import (
    CalibrationRecord,
    CalibrationSpec,
    calibration_spec_from_json,
    calibration_to_json,
)
from harness.entry.flags import build_calibrate_parser, build_parser, build_spec_parser, spec_from_args
from harness.loadgen.launch import LoadGenError
from harness.results.staging import OutputError
from harness.run.checks import RunError
from harness.run.execute import execute
from harness.run.find_peak import PeakSearchError, format_peak, search, start_value, subprocess_trial
from harness.run.outcome import RunOutcome

_INPUT_ERRORS = (
    BackendError,
    BenchmarkOptionError,
    CacheError,
    ContractError,
    ComplianceError,
    DatasetError,
    LoadGenError,
    MissingResultsError,
    OutputError,
    RunError,
    UnknownBackendError,
    UnknownBenchmarkError,
)


class Terminated(BaseException):
    """SIGTERM arrived (e.g. `docker stop`); handled like Ctrl-C."""


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["calibrate"]:
        calibrate_args = build_calibrate_parser().parse_args(arguments[1:])
        return _calibrate(calibrate_args.spec, calibrate_args.record or calibrate_args.spec.with_name("record.json"))
    if arguments[:1] in (["run"], ["find-peak"]) and any(a == "--spec" or a.startswith("--spec=") for a in arguments):
        spec_args = build_spec_parser(arguments[0]).parse_args(arguments[1:])
        try:
            spec = spec_from_json(spec_args.spec.read_text(), str(spec_args.spec))
        except (OSError, UnicodeDecodeError) as error:
            return _refuse(f"cannot read --spec {spec_args.spec} ({error}); pass the run's spec.json")
        except ContractError as error:
            return _refuse(str(error))
        if arguments[0] == "find-peak":
            return _find_peak(spec, spec_args.max_trials, spec_args.result_json)
        record = spec_args.record or spec_args.spec.with_name("record.json")
        return _run(spec, shlex.join(["python", "-m", "harness", *arguments]), record)
    args = build_parser().parse_args(arguments)
    try:
        spec = spec_from_args(args)
    except (RunError, ContractError) as error:
        return _refuse(str(error))
    if args.command == "find-peak":
        return _find_peak(spec, args.max_trials, args.result_json)
    return _run(spec, shlex.join(["python", "-m", "harness", *arguments]), args.record)


def _run(spec: RunSpec, command: str, record_path: Path | None) -> int:
    """One run; the record (when asked for) says what happened, the exit status says it too (harness.contract.Exit)."""
    os.umask(0o002)  # results are shared through the experiment's group: keep them group-writable
    started = _now()

    def finish(record: RunRecord) -> int:
        if record_path is not None:
            _write_record(record_path, record)
        return record.exit_code

    def failed(outcome: Outcome, message: str) -> int:
        return finish(RunRecord(outcome=outcome, message=message, started=started, finished=_now()))

    signal.signal(signal.SIGTERM, _raise_terminated)
    if spec.exit_on_stdin_eof:
        _stop_when_stdin_closes()
    try:
        _check_user(spec)
        outcome = execute(spec, command)
    except _INPUT_ERRORS as error:
        # One line, whatever a runtime put into its message: the host side shows it as is.
        message = " ".join(str(error).split())
        print("error: " + message, file=sys.stderr)
        return failed(Outcome.REFUSED, message)
    except (KeyboardInterrupt, Terminated) as interrupt:
        name = "SIGTERM" if isinstance(interrupt, Terminated) else "SIGINT"
        print(f"error: interrupted by {name}; no results were placed", file=sys.stderr)
        failed(Outcome.INTERRUPTED, f"interrupted by {name}; no results were placed")
        sys.stderr.flush()
        # LoadGen's threads may still be running and cannot be stopped: leave without waiting for them.
        os._exit(Exit.INTERRUPTED_SIGTERM if isinstance(interrupt, Terminated) else Exit.INTERRUPTED_SIGINT)
    except Exception as error:
        traceback.print_exc()
        return failed(Outcome.ERROR, f"{type(error).__name__}: {' '.join(str(error).split())}")
    _print_outcome(spec, outcome)
    return finish(outcome.record(Path(spec.output), started, _now()))


def _calibrate(spec_path: Path, record_path: Path) -> int:
    """One calibration from its spec; the record says what was made and how the gate went, the exit status too."""
    from harness.calibrate.run import calibrate, failed

    os.umask(0o002)
    started = _now()

    def finish(record: CalibrationRecord) -> int:
        try:
            atomic_text(record_path, calibration_to_json(record))
        except OSError as error:
            print(f"error: cannot write the calibration record {record_path} ({error.strerror})", file=sys.stderr)
        return record.exit_code

    try:
        spec = calibration_spec_from_json(spec_path.read_text(), str(spec_path))
    except (OSError, UnicodeDecodeError) as error:
        return _refuse(f"cannot read --spec {spec_path} ({error}); pass the calibration's spec.json")
    except ContractError as error:
        return _refuse(str(error))
    signal.signal(signal.SIGTERM, _raise_terminated)
    if spec.exit_on_stdin_eof:
        _stop_when_stdin_closes()
    try:
        _check_user(spec)
        record = calibrate(spec)
    except _INPUT_ERRORS as error:
        message = " ".join(str(error).split())
        print("error: " + message, file=sys.stderr)
        return finish(failed(Outcome.REFUSED, message, started))
    except (KeyboardInterrupt, Terminated) as interrupt:
        name = "SIGTERM" if isinstance(interrupt, Terminated) else "SIGINT"
        print(f"error: interrupted by {name}; no artefact was made", file=sys.stderr)
        finish(failed(Outcome.INTERRUPTED, f"interrupted by {name}; no artefact was made", started))
        return int(Exit.INTERRUPTED_SIGTERM if isinstance(interrupt, Terminated) else Exit.INTERRUPTED_SIGINT)
    except Exception as error:
        traceback.print_exc()
        return finish(failed(Outcome.ERROR, f"{type(error).__name__}: {' '.join(str(error).split())}", started))
    print(f"{spec.benchmark} {spec.backend.name}: {record.artefact} (sha256 {record.artefact_sha256[:12]}...)")
    print(record.message)
    return finish(record)


def _check_user(spec: RunSpec | CalibrationSpec) -> None:
    if os.geteuid() == 0 and not spec.allow_root:
        raise RunError(
            "the harness runs as root (uid 0), so its results would belong to root; run the container as your user "
            "(docker run --user UID:1500 ..., as build.py run does; the image's default user is unprivileged), "
            "or pass --allow-root if root-owned results are what you want"
        )


def _stop_when_stdin_closes() -> None:
    """The host keeps our stdin open for as long as it lives: end of file means it died (even by SIGKILL), so the
    run stops as if interrupted and no container outlives its `build.py`."""

    def watch() -> None:
        # The raw descriptor, not sys.stdin: a thread blocked in a buffered read holds its lock, and the interpreter
        # aborts at exit when it cannot take it.
        try:
            while os.read(0, 4096):
                pass
        except OSError:
            pass
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="stdin-watch", daemon=True).start()


def _write_record(path: Path, record: RunRecord) -> None:
    try:
        atomic_text(path, to_json(record))
    except OSError as error:
        print(f"error: cannot write the run record {path} ({error.strerror})", file=sys.stderr)


def atomic_text(path: Path, text: str) -> None:
    """Through a temporary name, so the host never reads half a record."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _refuse(message: str) -> int:
    print("error: " + " ".join(message.split()), file=sys.stderr)
    return Exit.REFUSED


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _find_peak(spec: RunSpec, max_trials: int, result_json: Path | None) -> int:
    """Trials in subprocesses until the peak is bracketed; prints `peak: SETTING=VALUE` last."""
    signal.signal(signal.SIGTERM, _raise_terminated)
    spec = replace(
        spec,
        mode="performance",
        cache_dir=spec.cache_dir or str(Path(spec.output).absolute() / ".cache" / "preprocessed"),
        # Trials: 10 s by default, as short as LoadGen allows in queries (the duration sets the length).
        loadgen=replace(
            spec.loadgen,
            min_duration_ms=spec.loadgen.min_duration_ms or FIND_PEAK_TRIAL_MS,
            min_query_count=spec.loadgen.min_query_count or 1,
        ),
    )
    scratch = Path(tempfile.mkdtemp(prefix="harness-find-peak-"))
    try:
        run_trial = subprocess_trial(spec, scratch)
        given = spec.loadgen.target_qps if spec.scenario in ("Offline", "Server") else spec.loadgen.target_latency_ms
        peak = search(spec.scenario, start_value(spec.scenario, given), max_trials, run_trial, print)
    except PeakSearchError as error:
        print("error: " + " ".join(str(error).split()), file=sys.stderr)
        return Exit.ERROR
    except (KeyboardInterrupt, Terminated):
        print("error: interrupted; no peak was found", file=sys.stderr)
        return Exit.INTERRUPTED_SIGINT
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if result_json is not None:
        try:
            result_json.write_text(json.dumps(peak.as_json(), indent=2) + "\n")
        except OSError as error:
            print(
                f"error: cannot write --result-json {result_json} ({error.strerror}); {format_peak(peak)}",
                file=sys.stderr,
            )
            return Exit.REFUSED
    print(format_peak(peak))
    return Exit.OK


def _print_outcome(spec: RunSpec, outcome: RunOutcome) -> None:
    headline = f"{spec.benchmark} {spec.scenario} {spec.mode}"
    if outcome.summary.value is not None:
        headline += f": {outcome.summary.describe()} [{outcome.summary.validity or 'validity not stated'}]"
    lines = [
        headline,
        f"backend: {outcome.backend.backend} {outcome.backend.version} on {outcome.backend.device}",
        f"samples: {outcome.samples} ({outcome.preprocessed} preprocessed now, the rest from the cache)",
    ]
    if outcome.accuracy is not None:
        lines.append(f"accuracy: {outcome.accuracy.line}")
    test = spec.compliance.test if spec.compliance else ""
    if outcome.compliance is not None:
        for name, verification in outcome.compliance.verifications:
            verdict = next((line for line in verification.text.splitlines() if line.startswith("TEST ")), "")
            lines.append(f"{test} {name}: {verdict}")
        accepted = "accepted" if outcome.compliance.accepted else "FAILED"
        lines.append(f"{test}: {accepted}" + (f" ({outcome.compliance.note})" if outcome.compliance.note else ""))
    lines.append(f"results: {outcome.result_dir}")
    print("\n".join(lines))


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated
