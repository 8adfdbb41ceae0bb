"""Run the harness's `find-peak` in the system's image (the same `docker run` options as a run) and read its answer."""

from __future__ import annotations

import dataclasses

from rich.console import Console

from msb import runner
from msb.engine import Engine
from msb.errors import RunFailed
from msb.expdir import Identity
from msb.find_peak import RESULTS_DIR, Peak, read_peak
from msb.system_spec import SystemSpec


def run_find_peak(
    system: SystemSpec, inputs: runner.RunArgs, ident: Identity, engine: Engine, console: Console
) -> Peak:
    """`inputs` names the benchmark, scenario and the run's inputs; the mode and command are find-peak's own."""
    result = f"{RESULTS_DIR}/{system.name}-{inputs.benchmark}-{inputs.scenario}.json"
    run_args = dataclasses.replace(inputs, mode="performance", command="find-peak", result_json=result)
    runner.check_inputs(run_args)
    req = runner.plan(system, run_args, ident)
    runner.check_engine(req, engine, system.round)
    host_result = req.experiment / result
    # Made before the run so preparing the experiment gives it to the container's user too.
    host_result.parent.mkdir(parents=True, exist_ok=True)
    host_result.unlink(missing_ok=True)
    console.print(f"[bold]find-peak[/] {inputs.benchmark} {inputs.scenario} in {req.container_name}")
    runner.execute(req, system, engine, ident)
    if not host_result.is_file():
        raise RunFailed(f"find-peak finished without writing {host_result}", "read its output above")
    return read_peak(host_result.read_text(), str(host_result))
