"""`build.py reproduce TARGET`: re-run one result exactly as its manifest records it, into a new experiment, and
print the comparison."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.table import Table

from msb.commands import Subparsers, register, status_console, table_console
from msb.descriptions.image import load_image_spec
from msb.engine import DockerEngine
from msb.errors import MsbError
from msb.project import Project
from msb.run import compare, reproduce
from msb.run.expdir import identity_for


def add_parser(sub: Subparsers, project: Project) -> None:
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
    register(repro, command)


def command(project: Project, options: argparse.Namespace) -> int:
    if options.tolerance is not None and not options.tolerance >= 0:
        raise MsbError(f"--tolerance {options.tolerance} is negative", "give a percentage of 0 or more")
    console = status_console()
    original = reproduce.find_manifest(options.target)
    experiment = options.experiment or reproduce.default_experiment(original)
    # The re-run is made as the same container user: the recorded system's uid, the recorded image's group.
    image = load_image_spec(project, reproduce.recorded_image_name(original))
    ident = identity_for(reproduce.recorded_system(original.data), image.gid)
    comparison = reproduce.reproduce(
        original,
        experiment,
        options.tolerance,
        options.rebuild,
        DockerEngine(),
        ident,
        lambda text: console.print(text),
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
    table_console().print(table)
    print(f"comparison: {json_path}, {md_path}")
    return 0 if comparison.reproduced else 1
