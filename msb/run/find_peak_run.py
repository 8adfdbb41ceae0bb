"""Run the harness's `find-peak` in the system's image (the same container as a run) and read its answer."""

from __future__ import annotations

import dataclasses

from rich.console import Console

from msb.descriptions.system import SystemSpec
from msb.engine import Engine
from msb.run import leftovers, runner
from msb.run.expdir import Identity
from msb.run.find_peak import Peak, read_peak


def run_find_peak(
    system: SystemSpec, inputs: runner.RunArgs, ident: Identity, engine: Engine, console: Console
) -> Peak:
    """`inputs` names the benchmark, scenario and the run's inputs; the mode is find-peak's own (performance)."""
    run_args = dataclasses.replace(inputs, mode="performance")
    runner.check_inputs(run_args)
    plan = runner.plan(system, run_args, ident, command="find-peak")
    runner.check_engine(plan, engine)
    leftovers.remove(plan.experiment, engine, lambda text: console.print(f"[yellow]cleanup:[/] {text}"))
    console.print(f"[bold]find-peak[/] {inputs.benchmark} {inputs.scenario} in {plan.name}")
    return read_peak(runner.search(plan, engine, ident), f"{plan.name}'s answer")
