"""`python -m harness`: the image's entrypoint. `run` measures one benchmark scenario with MLPerf LoadGen.

Bad input ends the program with one line naming the input and the fix (exit status 2); an interrupted run
(SIGINT/SIGTERM) leaves no result in the submission tree (exit status 130/143).
"""

from __future__ import annotations

import argparse
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
from typing import NoReturn

from harness.backends.base import BackendError
from harness.backends.registry import BACKENDS, UnknownBackendError
from harness.benchmarks.base import DatasetError
from harness.benchmarks.registry import BENCHMARKS, UnknownBenchmarkError
from harness.cache import CacheError
from harness.compliance import ComplianceError
from harness.compliance_results import MissingResultsError
from harness.contract import (
    COMPLIANCE_TESTS,
    DIVISIONS,
    MODES,
    SCENARIOS,
    BackendSpec,
    ComplianceSpec,
    ContractError,
    Exit,
    LoadGenSettings,
    Outcome,
    RunRecord,
    RunSpec,
    check_name,
    spec_from_json,
    to_json,
)
from harness.find_peak import PeakSearchError, format_peak, search, start_value, subprocess_trial
from harness.loadgen_run import LoadGenError
from harness.run import RunError, RunOutcome, execute
from harness.staging import OutputError

_DEFAULT_BATCH = {"SingleStream": 1, "MultiStream": 8, "Server": 8, "Offline": 32}
_INPUT_ERRORS = (
    BackendError,
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

_DESCRIPTION = """\
MLPerf Inference harness: runs one benchmark scenario under MLPerf LoadGen and writes the results into
an MLPerf submission tree in the round's layout (--round). See `run --help` and `find-peak --help` for the options.
"""
_RUN_EPILOG = """\
results (moved into place only when the run completed; an interrupted run leaves nothing behind), v5.x rounds:
  OUTPUT/closed/SUBMITTER/systems/SYSTEM.json                                 (with --system-json)
  OUTPUT/closed/SUBMITTER/code/BENCHMARK/IMPL/README.md
  OUTPUT/closed/SUBMITTER/measurements/SYSTEM/BENCHMARK/SCENARIO/{user.conf,README.md,SYSTEM_IMPL_SCENARIO.json}
  OUTPUT/closed/SUBMITTER/results/SYSTEM/BENCHMARK/SCENARIO/performance/run_1/   (--mode performance)
  OUTPUT/closed/SUBMITTER/results/SYSTEM/BENCHMARK/SCENARIO/accuracy/            (--mode accuracy)
  OUTPUT/closed/SUBMITTER/compliance/SYSTEM/BENCHMARK/SCENARIO/TEST/             (--compliance TEST, only this)
v6.x rounds: src/ instead of code/, and a scenario's files in its results folder:
  OUTPUT/closed/SUBMITTER/src/BENCHMARK/IMPL/README.md
  OUTPUT/closed/SUBMITTER/results/SYSTEM/BENCHMARK/SCENARIO/{user.conf,README.md,measurements.json}
  OUTPUT/closed/SUBMITTER/results/SYSTEM/BENCHMARK/SCENARIO/{performance/run_1,accuracy,TEST}/

compliance tests (--mode performance --compliance TEST01|TEST04 --audit-config FILE):
  LoadGen runs in a private working folder holding FILE as audit.config; the run is verified against the
  submission's own results (performance/run_1, and for TEST01 accuracy/mlperf_log_accuracy.json), which must
  be in OUTPUT already. Exit status 1 when the verification fails (its files are placed all the same).

example:
  python -m harness run --benchmark resnet50 --scenario Offline --mode accuracy \\
      --dataset /data/imagenet --model /models/resnet50_v1.onnx --backend onnxruntime \\
      --output /out --submitter ACME --system acme_server_cpu
"""


class Terminated(BaseException):
    """SIGTERM arrived (e.g. `docker stop`); handled like Ctrl-C."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


_PEAK_EPILOG = """\
Each trial is a `python -m harness run` performance run into a scratch folder outside OUTPUT (removed
afterwards); the preprocessed-sample cache is shared with OUTPUT's. Nothing is written into OUTPUT/closed.
The last line printed is `peak: target_qps=VALUE` (Offline, Server) or `peak: target_latency_ms=VALUE`
(SingleStream, MultiStream), a value whose trial LoadGen reported VALID. Exit status 1 when no trial was VALID.
For Server, --target-latency-ms is the latency bound and --target-qps the first value tried (e.g. the Offline
peak); for the other scenarios the flag of the searched setting gives the first value tried.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m harness", description=_DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    run = commands.add_parser(
        "run",
        help="run one benchmark scenario under LoadGen and place the results",
        description="Run one benchmark scenario under MLPerf LoadGen and place the results.",
        epilog=_RUN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_run_arguments(run, with_mode=True)
    peak = commands.add_parser(
        "find-peak",
        help="search the target QPS or expected latency at which LoadGen reports VALID",
        description="Search the best target QPS (Offline, Server) or expected latency (SingleStream, "
        "MultiStream) with short performance trials.",
        epilog=_PEAK_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_run_arguments(peak, with_mode=False)
    search_group = peak.add_argument_group("search")
    search_group.add_argument(
        "--max-trials", type=_positive_int, default=8, metavar="N", help="most trials to run (default 8)"
    )
    search_group.add_argument("--result-json", type=Path, metavar="FILE", help="write the setting, value and trials")
    return parser


def _add_run_arguments(run: argparse.ArgumentParser, with_mode: bool) -> None:
    what = run.add_argument_group("what to run")
    what.add_argument("--benchmark", required=True, choices=BENCHMARKS, help="MLPerf model name")
    what.add_argument("--scenario", required=True, choices=SCENARIOS)
    if with_mode:
        what.add_argument("--mode", required=True, choices=MODES)
    what.add_argument("--dataset", required=True, type=Path, metavar="DIR", help="dataset directory")
    what.add_argument("--model", required=True, type=Path, metavar="FILE", help="model file")
    what.add_argument("--backend", required=True, choices=BACKENDS)
    what.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu; never falls back)")
    what.add_argument("--precision", default="fp32", help="default fp32")

    where = run.add_argument_group("where results go")
    where.add_argument("--output", required=True, type=Path, metavar="DIR", help="experiment directory")
    where.add_argument("--division", default="closed", choices=DIVISIONS, help="default closed")
    where.add_argument(
        "--round",
        default="v5.1",
        metavar="ROUND",
        help="MLPerf round: recorded, and v6.x writes the v6 tree layout (default v5.1)",
    )
    where.add_argument("--submitter", required=True, type=_name, metavar="NAME")
    where.add_argument("--system", required=True, type=_name, metavar="NAME", help="system description id")
    where.add_argument("--impl", type=_name, metavar="NAME", help="implementation name (default BACKEND-DEVICE)")
    where.add_argument(
        "--system-json", type=Path, metavar="FILE", help="system description, copied to systems/SYSTEM.json"
    )
    where.add_argument(
        "--cache-dir",
        type=Path,
        metavar="DIR",
        help="preprocessed samples (default OUTPUT/.cache/preprocessed)",
    )
    where.add_argument(
        "--run-info-json",
        type=_json,
        metavar="JSON",
        help="run options to record in the measurements README (e.g. the docker run options)",
    )

    where.add_argument(
        "--record", type=Path, metavar="FILE", help="write what the run did as JSON (harness.contract.RunRecord)"
    )
    where.add_argument("--allow-root", action="store_true", help="run even as uid 0 (results then belong to root)")

    how = run.add_argument_group("how to run")
    how.add_argument("--count", type=_positive_int, metavar="N", help="use the first N samples of the dataset")
    how.add_argument(
        "--batch-size",
        type=_positive_int,
        metavar="N",
        help="samples per inference (default: SingleStream 1, MultiStream 8, Server 8, Offline 32)",
    )
    how.add_argument("--threads", type=_positive_int, metavar="N", help="backend intra-op threads")
    how.add_argument(
        "--backend-option",
        action="append",
        type=_key_value,
        default=[],
        metavar="KEY=VALUE",
        help="a backend-specific setting, repeatable; VALUE is read as JSON where it parses (true, 3, "
        '"x"), else as text',
    )

    loadgen = run.add_argument_group("LoadGen settings, written to user.conf (default: the round's values)")
    loadgen.add_argument("--target-qps", type=_positive_float, metavar="F", help="expected/target QPS")
    loadgen.add_argument(
        "--target-latency-ms",
        type=_positive_float,
        metavar="F",
        help="expected latency (SingleStream, MultiStream) or latency bound (Server)",
    )
    loadgen.add_argument(
        "--min-duration-ms",
        type=_positive_int,
        default=None if with_mode else 10000,
        metavar="N",
        help="shorten a test run" if with_mode else "duration of each trial (default 10000)",
    )
    loadgen.add_argument(
        "--min-query-count",
        type=_positive_int,
        default=None if with_mode else 1,
        metavar="N",
        help="shorten a test run" if with_mode else "of each trial (default 1: --min-duration-ms sets the length)",
    )
    loadgen.add_argument("--samples-per-query", type=_positive_int, metavar="N", help="MultiStream only")
    if with_mode:
        compliance = run.add_argument_group("compliance tests")
        compliance.add_argument(
            "--compliance",
            choices=COMPLIANCE_TESTS,
            help="run this compliance test (needs --mode performance and --audit-config)",
        )
        compliance.add_argument(
            "--audit-config",
            type=Path,
            metavar="FILE",
            help="the round's audit.config of the test (TEST01: the benchmark's own)",
        )


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
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


def build_spec_parser(command: str) -> argparse.ArgumentParser:
    """`run --spec FILE`: everything about the run is in the file the host wrote."""
    parser = _Parser(prog=f"python -m harness {command}", description="Run from a spec.json (harness.contract).")
    parser.add_argument("--spec", required=True, type=Path, metavar="FILE", help="the run's spec.json")
    if command == "run":
        parser.add_argument("--record", type=Path, metavar="FILE", help="where record.json goes (default: beside FILE)")
    else:
        parser.add_argument("--max-trials", type=_positive_int, default=8, metavar="N")
        parser.add_argument("--result-json", type=Path, metavar="FILE")
    return parser


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


def _check_user(spec: RunSpec) -> None:
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
    """Atomically, so the host never reads half a record."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(to_json(record))
        os.replace(tmp, path)
    except OSError as error:
        print(f"error: cannot write the run record {path} ({error.strerror})", file=sys.stderr)


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
            min_duration_ms=spec.loadgen.min_duration_ms or 10000,
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
        return 1
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
            return 2
    print(format_peak(peak))
    return 0


def spec_from_args(args: argparse.Namespace) -> RunSpec:
    """The flags an auditor types, as the one RunSpec the host would write."""
    compliance = getattr(args, "compliance", None)
    audit_config = getattr(args, "audit_config", None)
    if args.samples_per_query is not None and args.scenario != "MultiStream":
        raise RunError(f"--samples-per-query applies to MultiStream only, not {args.scenario}; drop it")
    if (compliance is None) != (audit_config is None):
        raise RunError("--compliance TEST and --audit-config FILE go together; pass both or neither")
    mode = getattr(args, "mode", "performance")
    if compliance is not None and mode != "performance":
        raise RunError(f"--compliance {compliance} is a performance run; use --mode performance")
    return RunSpec(
        benchmark=args.benchmark,
        scenario=args.scenario,
        mode=mode,
        round=args.round,
        division=args.division,
        submitter=args.submitter,
        system=args.system,
        impl=args.impl,
        dataset=str(args.dataset.absolute()),
        model=str(args.model.absolute()),
        output=str(args.output.absolute()),
        cache_dir=str(args.cache_dir.absolute()) if args.cache_dir else None,
        count=args.count,
        backend=BackendSpec(
            name=args.backend,
            device=args.device,
            precision=args.precision,
            batch_size=args.batch_size or args.samples_per_query or _DEFAULT_BATCH[args.scenario],
            threads=args.threads,
            options=dict(args.backend_option),
        ),
        loadgen=LoadGenSettings(
            target_qps=args.target_qps,
            target_latency_ms=args.target_latency_ms,
            min_duration_ms=args.min_duration_ms,
            min_query_count=args.min_query_count,
            samples_per_query=args.samples_per_query,
        ),
        system_json=_read_json_file(args.system_json, "--system-json"),
        compliance=None
        if compliance is None or audit_config is None
        else ComplianceSpec(compliance, _read_text(audit_config, compliance)),
        run_info=args.run_info_json,
        allow_root=args.allow_root,
    ).validate()


def _read_json_file(path: Path | None, flag: str) -> dict[str, object] | None:
    if path is None:
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as error:
        raise RunError(f"cannot read {flag} {path} ({error}); pass an existing file") from error
    except json.JSONDecodeError as error:
        raise RunError(f"{flag} {path} is not valid JSON ({error}); fix the file") from error
    if not isinstance(data, dict):
        raise RunError(f"{flag} {path} must hold a JSON object; fix the file")
    return data


def _read_text(path: Path, test: str) -> str:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise RunError(
            f"cannot read --audit-config {path} ({error}); pass the round's compliance/{test}/audit.config "
            "(for TEST01 the one in the benchmark's folder)"
        ) from error


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


def _name(text: str) -> str:
    try:
        return check_name(text, "name")
    except ContractError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _key_value(text: str) -> tuple[str, object]:
    key, separator, value = text.partition("=")
    if not separator or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE with KEY a Python identifier")
    if key in ("device", "precision", "threads", "output_names"):
        raise argparse.ArgumentTypeError(f"{key} has its own flag; use --{key.replace('_', '-')}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def _json(text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not valid JSON ({error})") from error


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number above 0")
    return value
