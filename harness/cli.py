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
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import NoReturn

from harness.backends.base import BackendError
from harness.backends.registry import BACKENDS, UnknownBackendError
from harness.benchmarks.base import DatasetError
from harness.benchmarks.registry import BENCHMARKS, UnknownBenchmarkError
from harness.cache import CacheError
from harness.compliance import COMPLIANCE_TESTS, ComplianceError
from harness.compliance_results import MissingResultsError
from harness.find_peak import PeakSearchError, format_peak, search, start_value, subprocess_trial
from harness.layout import ResultLayout
from harness.loadgen_run import SCENARIOS, TEST_MODES, LoadGenError
from harness.run import RunError, RunOutcome, RunRequest, execute
from harness.staging import OutputError
from harness.userconf import RunSettings

_DEFAULT_BATCH = {"SingleStream": 1, "MultiStream": 8, "Server": 8, "Offline": 32}
_INPUT_ERRORS = (
    BackendError,
    CacheError,
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
an MLPerf submission tree (round v5.1 layout). See `run --help` and `find-peak --help` for the options.
"""
_RUN_EPILOG = """\
results (moved into place only when the run completed; an interrupted run leaves nothing behind):
  OUTPUT/closed/SUBMITTER/systems/SYSTEM.json                                 (with --system-json)
  OUTPUT/closed/SUBMITTER/code/BENCHMARK/IMPL/README.md
  OUTPUT/closed/SUBMITTER/measurements/SYSTEM/BENCHMARK/SCENARIO/{user.conf,README.md,SYSTEM_IMPL_SCENARIO.json}
  OUTPUT/closed/SUBMITTER/results/SYSTEM/BENCHMARK/SCENARIO/performance/run_1/   (--mode performance)
  OUTPUT/closed/SUBMITTER/results/SYSTEM/BENCHMARK/SCENARIO/accuracy/            (--mode accuracy)
  OUTPUT/closed/SUBMITTER/compliance/SYSTEM/BENCHMARK/SCENARIO/TEST/             (--compliance TEST, only this)

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
    what.add_argument("--scenario", required=True, choices=tuple(SCENARIOS))
    if with_mode:
        what.add_argument("--mode", required=True, choices=tuple(TEST_MODES))
    what.add_argument("--dataset", required=True, type=Path, metavar="DIR", help="dataset directory")
    what.add_argument("--model", required=True, type=Path, metavar="FILE", help="model file")
    what.add_argument("--backend", required=True, choices=BACKENDS)
    what.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu; never falls back)")
    what.add_argument("--precision", default="fp32", help="default fp32")

    where = run.add_argument_group("where results go")
    where.add_argument("--output", required=True, type=Path, metavar="DIR", help="experiment directory")
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
    args = build_parser().parse_args(arguments)
    if args.command == "find-peak":
        return _find_peak(args)
    return _run(args, arguments)


def _run(args: argparse.Namespace, arguments: list[str]) -> int:
    os.umask(0o002)  # results are shared through the experiment's group: keep them group-writable
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        request = _request(args, arguments)
        outcome = execute(request)
    except _INPUT_ERRORS as error:
        # One line, whatever a runtime put into its message: the host side shows it as is.
        print("error: " + " ".join(str(error).split()), file=sys.stderr)
        return 2
    except (KeyboardInterrupt, Terminated) as interrupt:
        name = "SIGTERM" if isinstance(interrupt, Terminated) else "SIGINT"
        print(f"error: interrupted by {name}; no results were placed", file=sys.stderr)
        sys.stderr.flush()
        # LoadGen's threads may still be running and cannot be stopped: leave without waiting for them.
        os._exit(143 if isinstance(interrupt, Terminated) else 130)
    _print_outcome(request, outcome)
    return 1 if outcome.compliance is not None and not outcome.compliance.accepted else 0


def _find_peak(args: argparse.Namespace) -> int:
    """Trials in subprocesses until the peak is bracketed; prints `peak: SETTING=VALUE` last."""
    signal.signal(signal.SIGTERM, _raise_terminated)
    impl = args.impl or f"{args.backend}-{args.device.partition(':')[0]}"
    layout = ResultLayout(args.submitter, args.system, args.benchmark, args.scenario, impl)
    cache_dir = (args.cache_dir or args.output / ".cache" / "preprocessed").absolute()
    command = [sys.executable, "-m", "harness", "run", "--mode", "performance", *_trial_flags(args, impl, cache_dir)]
    scratch = Path(tempfile.mkdtemp(prefix="harness-find-peak-"))
    try:
        run_trial = subprocess_trial(
            command, args.scenario, scratch, layout.result_dir("performance"), args.min_duration_ms
        )
        given = args.target_qps if args.scenario in ("Offline", "Server") else args.target_latency_ms
        peak = search(args.scenario, start_value(args.scenario, given), args.max_trials, run_trial, print)
    except PeakSearchError as error:
        print("error: " + " ".join(str(error).split()), file=sys.stderr)
        return 1
    except (KeyboardInterrupt, Terminated):
        print("error: interrupted; no peak was found", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if args.result_json is not None:
        try:
            args.result_json.write_text(json.dumps(peak.as_json(), indent=2) + "\n")
        except OSError as error:
            print(
                f"error: cannot write --result-json {args.result_json} ({error.strerror}); {format_peak(peak)}",
                file=sys.stderr,
            )
            return 2
    print(format_peak(peak))
    return 0


def _trial_flags(args: argparse.Namespace, impl: str, cache_dir: Path) -> list[str]:
    """The `run` flags of find-peak's own, less the searched setting, the output and the trial duration."""
    flags = [
        f"--benchmark={args.benchmark}",
        f"--scenario={args.scenario}",
        f"--dataset={args.dataset.absolute()}",
        f"--model={args.model.absolute()}",
        f"--backend={args.backend}",
        f"--device={args.device}",
        f"--precision={args.precision}",
        f"--submitter={args.submitter}",
        f"--system={args.system}",
        f"--impl={impl}",
        f"--cache-dir={cache_dir}",
    ]
    optional = {
        "--count": args.count,
        "--batch-size": args.batch_size,
        "--threads": args.threads,
        "--min-query-count": args.min_query_count,
        "--samples-per-query": args.samples_per_query,
        # Server: the latency bound stays fixed while the QPS is searched.
        "--target-latency-ms": args.target_latency_ms if args.scenario == "Server" else None,
    }
    flags += [f"{flag}={value}" for flag, value in optional.items() if value is not None]
    flags += [f"--backend-option={key}={json.dumps(value)}" for key, value in args.backend_option]
    return flags


def _request(args: argparse.Namespace, arguments: list[str]) -> RunRequest:
    if args.samples_per_query is not None and args.scenario != "MultiStream":
        raise RunError(f"--samples-per-query applies to MultiStream only, not {args.scenario}; drop it")
    if (args.compliance is None) != (args.audit_config is None):
        raise RunError("--compliance TEST and --audit-config FILE go together; pass both or neither")
    if args.compliance is not None and args.mode != "performance":
        raise RunError(f"--compliance {args.compliance} is a performance run; use --mode performance")
    batch_size = args.batch_size or args.samples_per_query or _DEFAULT_BATCH[args.scenario]
    device_name = args.device.partition(":")[0]
    return RunRequest(
        benchmark=args.benchmark,
        scenario=args.scenario,
        mode=args.mode,
        dataset=args.dataset.absolute(),
        model=args.model.absolute(),
        backend=args.backend,
        device=args.device,
        precision=args.precision,
        output=args.output.absolute(),
        submitter=args.submitter,
        system=args.system,
        impl=args.impl or f"{args.backend}-{device_name}",
        system_json=args.system_json,
        count=args.count,
        batch_size=batch_size,
        threads=args.threads,
        backend_options=dict(args.backend_option),
        cache_dir=(args.cache_dir or args.output / ".cache" / "preprocessed").absolute(),
        settings=RunSettings(
            target_qps=args.target_qps,
            target_latency_ms=args.target_latency_ms,
            min_duration_ms=args.min_duration_ms,
            min_query_count=args.min_query_count,
            samples_per_query=args.samples_per_query,
            performance_sample_count=args.count,
        ),
        run_info=args.run_info_json,
        command=shlex.join(["python", "-m", "harness", *arguments]),
        compliance=args.compliance,
        audit_config=args.audit_config.absolute() if args.audit_config is not None else None,
    )


def _print_outcome(request: RunRequest, outcome: RunOutcome) -> None:
    headline = f"{request.benchmark} {request.scenario} {request.mode}"
    if outcome.summary.value is not None:
        headline += f": {outcome.summary.describe()} [{outcome.summary.validity or 'validity not stated'}]"
    lines = [
        headline,
        f"backend: {outcome.backend.backend} {outcome.backend.version} on {outcome.backend.device}",
        f"samples: {outcome.samples} ({outcome.preprocessed} preprocessed now, the rest from the cache)",
    ]
    if outcome.accuracy is not None:
        lines.append(f"accuracy: {outcome.accuracy.line}")
    if outcome.compliance is not None:
        for name, verification in outcome.compliance.verifications:
            verdict = next((line for line in verification.text.splitlines() if line.startswith("TEST ")), "")
            lines.append(f"{request.compliance} {name}: {verdict}")
        accepted = "accepted" if outcome.compliance.accepted else "FAILED"
        lines.append(
            f"{request.compliance}: {accepted}" + (f" ({outcome.compliance.note})" if outcome.compliance.note else "")
        )
    lines.append(f"results: {outcome.result_dir}")
    print("\n".join(lines))


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def _name(text: str) -> str:
    if not text or text in (".", "..") or "/" in text or text != text.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not usable as a folder name")
    return text


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
