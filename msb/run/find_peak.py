"""`build.py find-peak`: run the harness's peak search in the system's image (the same container as a run), read
its answer, and write the value found into the system description, changing only that value's line (comments and
layout stay as the author wrote them)."""

from __future__ import annotations

import argparse
import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from harness.contract import SCENARIOS
from msb.commands import Subparsers, register, status_console
from msb.descriptions.edit import format_value, set_value, write_in_place
from msb.descriptions.image import load_image_spec
from msb.descriptions.system import SCENARIO_SETTINGS, SystemSpec, load_system_spec
from msb.engine import DockerEngine, Engine
from msb.errors import SpecError
from msb.project import Project
from msb.run import artefact, leftovers, runner
from msb.run.arguments import add_run_inputs, run_args
from msb.run.expdir import Identity, identity_for


@dataclass(frozen=True)
class Peak:
    setting: str  # target_qps or target_latency_ms
    value: float


def add_parser(sub: Subparsers, project: Project) -> None:
    peak = sub.add_parser(
        "find-peak",
        help="search a scenario's best target QPS/latency in the image; write it into the system description",
    )
    peak.add_argument("--system", required=True, help="system description in systems/ or a YAML file's path")
    peak.add_argument("--benchmark", required=True, help="benchmark, as named in the system description")
    peak.add_argument("--scenario", required=True, help=f"one of {', '.join(SCENARIOS)}")
    add_run_inputs(peak)
    peak.add_argument("--dry-run", action="store_true", help="print the value found; leave the description as it is")
    register(peak, command)


def command(project: Project, options: argparse.Namespace) -> int:
    console = status_console()
    system = load_system_spec(project, options.system)
    ident = identity_for(system, load_image_spec(project, system.image).gid)
    artefact.check_runnable(system, options.benchmark, options.model)
    peak = run_find_peak(system, run_args(options), ident, DockerEngine(), console)
    shown = format_value(peak.value)
    if options.dry_run or system.path is None:
        console.print(f"peak: {peak.setting}={shown} (description left as it is)")
        return 0
    write_peak(system.path, options.benchmark, options.scenario, peak)
    console.print(f"peak: {peak.setting}={shown}, written to {system.path} ({options.benchmark} {options.scenario})")
    return 0


def run_find_peak(
    system: SystemSpec, inputs: runner.RunArgs, ident: Identity, engine: Engine, console: Console
) -> Peak:
    """`inputs` names the benchmark, scenario and the run's inputs; the mode is find-peak's own (performance)."""
    search_args = dataclasses.replace(inputs, mode="performance")
    runner.check_inputs(search_args)
    plan = runner.plan(system, search_args, ident, command="find-peak")
    runner.check_engine(plan, engine)
    leftovers.remove(plan.experiment, engine, lambda text: console.print(f"[yellow]cleanup:[/] {text}"))
    console.print(f"[bold]find-peak[/] {inputs.benchmark} {inputs.scenario} in {plan.name}")
    return read_peak(runner.search(plan, engine, ident), f"{plan.name}'s answer")


def read_peak(text: str, where: str) -> Peak:
    """The harness's --result-json: {"setting": ..., "value": ..., "trials": [...]}."""
    try:
        data = json.loads(text)
        peak = Peak(str(data["setting"]), float(data["value"]))
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise SpecError(f"{where} is not a find-peak result ({exc})", "run find-peak again; see its output") from None
    if peak.setting not in SCENARIO_SETTINGS:
        raise SpecError(f"{where}: unknown setting {peak.setting!r}", f"expected one of {', '.join(SCENARIO_SETTINGS)}")
    return peak


def rewrite_setting(text: str, benchmark: str, scenario: str, key: str, value: float) -> str:
    """`text` with benchmarks.<benchmark>.scenarios.<scenario>.<key> set to `value`, every other line unchanged."""
    return set_value(text, ["benchmarks", benchmark, "scenarios", scenario], key, value)


def write_peak(path: Path, benchmark: str, scenario: str, peak: Peak) -> None:
    write_in_place(path, rewrite_setting(path.read_text(), benchmark, scenario, peak.setting, peak.value))
