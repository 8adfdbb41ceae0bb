"""Run the harness's `find-peak` in the system's image (the same `docker run` options as a run) and read its answer."""

from __future__ import annotations

import argparse

from rich.console import Console

from msb import runner
from msb.engine import Engine
from msb.errors import RunFailed
from msb.expdir import Identity
from msb.find_peak import RESULTS_DIR, Peak, read_peak
from msb.system_spec import SystemSpec


def run_find_peak(
    system: SystemSpec, args: argparse.Namespace, ident: Identity, engine: Engine, console: Console
) -> Peak:
    result = f"{RESULTS_DIR}/{system.name}-{args.benchmark}-{args.scenario}.json"
    run_args = runner.RunArgs(
        benchmark=args.benchmark,
        scenario=args.scenario,
        mode="performance",
        experiment=args.experiment,
        dataset=args.dataset,
        model=args.model,
        count=args.count,
        image=args.image,
        gpus=args.gpus,
        command="find-peak",
        result_json=result,
    )
    runner.check_inputs(run_args)
    req = runner.plan(system, run_args, ident)
    runner.check_engine(req, engine, system.round)
    host_result = req.experiment / result
    # Made before the run so preparing the experiment gives it to the container's user too.
    host_result.parent.mkdir(parents=True, exist_ok=True)
    host_result.unlink(missing_ok=True)
    console.print(f"[bold]find-peak[/] {args.benchmark} {args.scenario} in {req.container_name}")
    runner.execute(req, system, engine, ident)
    if not host_result.is_file():
        raise RunFailed(f"find-peak finished without writing {host_result}", "read its output above")
    return read_peak(host_result.read_text(), str(host_result))
