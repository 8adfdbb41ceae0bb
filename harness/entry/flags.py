"""The flags of `python -m harness run|find-peak`: what an auditor types by hand, parsed into the one `RunSpec` the
host writes as spec.json (`run --spec FILE`). Bad flags end the program with one line and exit status 2."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from harness.backends.registry import BACKENDS
from harness.benchmarks.registry import BENCHMARKS
from harness.contract import (
    COMPLIANCE_TESTS,
    DEFAULT_BATCH_SIZE,
    DIVISIONS,
    FIND_PEAK_EXITS,
    FIND_PEAK_MAX_TRIALS,
    FIND_PEAK_TRIAL_MS,
    MODES,
    RUN_EXITS,
    SCENARIOS,
    BackendSpec,
    ComplianceSpec,
    Exit,
    LoadGenSettings,
    RunSpec,
)
from harness.contract.calibration import CALIBRATE_EXITS
from harness.entry import flag_types, help_texts
from harness.run.checks import RunError


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(Exit.REFUSED, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m harness", description=help_texts.DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
    run = commands.add_parser(
        "run",
        help="run one benchmark scenario under LoadGen and place the results",
        description="Run one benchmark scenario under MLPerf LoadGen and place the results.",
        epilog=help_texts.RUN_EPILOG + help_texts.exit_lines(RUN_EXITS),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_run_arguments(run, with_mode=True)
    peak = commands.add_parser(
        "find-peak",
        help="search the target QPS or expected latency at which LoadGen reports VALID",
        description="Search the best target QPS (Offline, Server) or expected latency (SingleStream, "
        "MultiStream) with short performance trials.",
        epilog=help_texts.PEAK_EPILOG + help_texts.exit_lines(FIND_PEAK_EXITS),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_run_arguments(peak, with_mode=False)
    search_group = peak.add_argument_group("search")
    search_group.add_argument(
        "--max-trials",
        type=flag_types.positive_int,
        default=FIND_PEAK_MAX_TRIALS,
        metavar="N",
        help=f"most trials to run (default {FIND_PEAK_MAX_TRIALS})",
    )
    search_group.add_argument("--result-json", type=Path, metavar="FILE", help="write the setting, value and trials")
    commands.add_parser(
        "calibrate",
        parents=[build_calibrate_parser()],
        add_help=False,
        help="INT8 from a full-precision model and a calibration list, with an accuracy gate (calibrate --help)",
        description=build_calibrate_parser().description,
        epilog=help_texts.CALIBRATE_EPILOG + help_texts.exit_lines(CALIBRATE_EXITS),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


def build_calibrate_parser() -> Parser:
    """`calibrate --spec FILE`: the calibration is described by the spec.json the host wrote."""
    parser = Parser(
        prog="python -m harness calibrate",
        description="Make the INT8 artefact of a backend from a full-precision ONNX model and a calibration list, "
        "then score both models on held-out images and compare (harness.contract.calibration).",
        epilog=help_texts.CALIBRATE_EPILOG + help_texts.exit_lines(CALIBRATE_EXITS),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--spec", required=True, type=Path, metavar="FILE", help="the calibration's spec.json")
    parser.add_argument("--record", type=Path, metavar="FILE", help="where record.json goes (default: beside FILE)")
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
    where.add_argument("--submitter", required=True, type=flag_types.name, metavar="NAME")
    where.add_argument("--system", required=True, type=flag_types.name, metavar="NAME", help="system description id")
    where.add_argument(
        "--impl", type=flag_types.name, metavar="NAME", help="implementation name (default BACKEND-DEVICE)"
    )
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
        type=flag_types.json_value,
        metavar="JSON",
        help="run options to record in the measurements README (e.g. the docker run options)",
    )

    where.add_argument(
        "--record", type=Path, metavar="FILE", help="write what the run did as JSON (harness.contract.RunRecord)"
    )
    where.add_argument("--allow-root", action="store_true", help="run even as uid 0 (results then belong to root)")

    how = run.add_argument_group("how to run")
    how.add_argument(
        "--count", type=flag_types.positive_int, metavar="N", help="use the first N samples of the dataset"
    )
    how.add_argument(
        "--batch-size",
        type=flag_types.positive_int,
        metavar="N",
        help=f"samples per inference (default: --samples-per-query in MultiStream, else {DEFAULT_BATCH_SIZE})",
    )
    how.add_argument("--threads", type=flag_types.positive_int, metavar="N", help="backend intra-op threads")
    _add_option_list(
        how,
        "--backend-option",
        flag_types.backend_key_value,
        'a backend-specific setting, repeatable; VALUE is read as JSON where it parses (true, 3, "x"), else as text',
    )
    _add_option_list(
        how,
        "--benchmark-option",
        flag_types.key_value,
        "a setting of the benchmark itself, repeatable, VALUE read as for --backend-option; "
        + help_texts.options_taken(),
    )

    loadgen = run.add_argument_group("LoadGen settings, written to user.conf (default: the round's values)")
    loadgen.add_argument("--target-qps", type=flag_types.positive_float, metavar="F", help="expected/target QPS")
    loadgen.add_argument(
        "--target-latency-ms",
        type=flag_types.positive_float,
        metavar="F",
        help="expected latency (SingleStream, MultiStream) or latency bound (Server)",
    )
    loadgen.add_argument(
        "--min-duration-ms",
        type=flag_types.positive_int,
        default=None if with_mode else FIND_PEAK_TRIAL_MS,
        metavar="N",
        help="shorten a test run" if with_mode else f"duration of each trial (default {FIND_PEAK_TRIAL_MS})",
    )
    loadgen.add_argument(
        "--min-query-count",
        type=flag_types.positive_int,
        default=None if with_mode else 1,
        metavar="N",
        help="shorten a test run" if with_mode else "of each trial (default 1: --min-duration-ms sets the length)",
    )
    loadgen.add_argument("--samples-per-query", type=flag_types.positive_int, metavar="N", help="MultiStream only")
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


def build_spec_parser(command: str) -> argparse.ArgumentParser:
    """`run --spec FILE`: everything about the run is in the file the host wrote."""
    parser = Parser(prog=f"python -m harness {command}", description="Run from a spec.json (harness.contract).")
    parser.add_argument("--spec", required=True, type=Path, metavar="FILE", help="the run's spec.json")
    if command == "run":
        parser.add_argument("--record", type=Path, metavar="FILE", help="where record.json goes (default: beside FILE)")
    else:
        parser.add_argument("--max-trials", type=flag_types.positive_int, default=FIND_PEAK_MAX_TRIALS, metavar="N")
        parser.add_argument("--result-json", type=Path, metavar="FILE")
    return parser


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
            batch_size=args.batch_size or args.samples_per_query or DEFAULT_BATCH_SIZE,
            threads=args.threads,
            options=dict(args.backend_option),
        ),
        benchmark_options=dict(args.benchmark_option),
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


def _add_option_list(
    group: argparse._ArgumentGroup, flag: str, parse: Callable[[str], tuple[str, object]], help_text: str
) -> None:
    """A repeatable KEY=VALUE flag gathered into a list of (key, value) pairs (the spec takes it as a dict)."""
    group.add_argument(flag, action="append", type=parse, default=[], metavar="KEY=VALUE", help=help_text)
