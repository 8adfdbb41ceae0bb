"""`build.py submission check|truncate|pack` (the round's rules on a tree, MLPerf's log truncation, the tarball) and
`build.py report` (the results an experiment's tree holds)."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.contract import CURRENT_ROUND
from msb.commands import Subparsers, register, table_console
from msb.descriptions.rounds import load_round
from msb.errors import EXIT_FAILED_CHECK, MsbError
from msb.project import Project
from msb.submission import pack, truncate
from msb.submission.check import check_tree
from msb.submission.findings import format_report, has_errors
from msb.submission.report import print_report

_ROOT_HELP = "submission root (holds closed/, open/ ...)"


def add_report_parser(sub: Subparsers, project: Project) -> None:
    report = sub.add_parser("report", help="list the results in an experiment's submission tree")
    report.add_argument("dir", type=Path, help="experiment directory (holds closed/)")
    register(report, report_command)


def add_parser(sub: Subparsers, project: Project) -> None:
    submission = sub.add_parser("submission", help="check a submission tree against a round's rules, or pack it")
    actions = submission.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = actions.add_parser(
        "check",
        help="list findings (exit 1 on any error)",
        description="Our submission checker: the round's rules applied to DIR/<division>/<submitter>/...,"
        " linter-style.",
    )
    check.add_argument("dir", type=Path, help=_ROOT_HELP)
    check.add_argument("--round", default=CURRENT_ROUND, help=f"MLPerf round (default {CURRENT_ROUND})")
    register(check, check_command)

    cut = actions.add_parser(
        "truncate",
        help="truncate the accuracy logs (full logs kept outside)",
        description="Accuracy-log truncation, as MLPerf requires before upload.",
    )
    cut.add_argument("dir", type=Path, help=_ROOT_HELP)
    cut.add_argument("--backup", type=Path, required=True, help="where the full logs go (outside DIR)")
    register(cut, truncate_command)

    tarball = actions.add_parser(
        "pack",
        help="tarball + sha256 of a checked tree",
        description="A reproducible tarball of a checked submission tree, with its sha256 written next to it.",
    )
    tarball.add_argument("dir", type=Path, help=_ROOT_HELP)
    tarball.add_argument(
        "--out", type=Path, help="tarball path (default: mlperf_submission_<submitter>.tar.gz beside DIR)"
    )
    tarball.add_argument("--round", default=CURRENT_ROUND, help=f"MLPerf round (default {CURRENT_ROUND})")
    tarball.add_argument("--force", action="store_true", help="pack even with checker errors (never for upload)")
    register(tarball, pack_command)


def report_command(project: Project, options: argparse.Namespace) -> int:
    if not options.dir.is_dir():
        raise MsbError(
            f"experiment directory {options.dir} does not exist", "pass the --experiment folder of your runs"
        )
    return 0 if print_report(options.dir, table_console()) else EXIT_FAILED_CHECK


def check_command(project: Project, options: argparse.Namespace) -> int:
    profile = load_round(options.round, project.rounds)
    if not options.dir.is_dir():
        raise MsbError(f"submission directory {options.dir} does not exist", "give the directory that holds closed/")
    findings = check_tree(options.dir, profile)
    print(format_report(findings, options.dir))
    return EXIT_FAILED_CHECK if has_errors(findings) else 0


def truncate_command(project: Project, options: argparse.Namespace) -> int:
    if not options.dir.is_dir():
        raise truncate.TruncationError(
            f"submission directory {options.dir} does not exist", "give the directory of the tree"
        )
    done = truncate.truncate_tree(options.dir, options.backup)
    for item in done:
        print(f"truncated {item.accuracy_dir} (sha256 {item.sha256}, full log in {item.backup})")
    print(f"{len(done)} accuracy log(s) truncated")
    return 0


def pack_command(project: Project, options: argparse.Namespace) -> int:
    pack.check_root(options.dir)
    profile = load_round(options.round, project.rounds)
    packed = pack.pack(options.dir, options.out or pack.default_tarball(options.dir), profile, force=options.force)
    print(f"{packed.tarball}: {packed.entries} entries, sha256 {packed.sha256} (in {packed.sha256_file})")
    return 0
