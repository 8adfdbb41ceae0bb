"""The run's inputs on the command line, shared by `run`, `find-peak` and `explore`, and the `RunArgs` they give."""

from __future__ import annotations

import argparse
from pathlib import Path

from msb.run.runner import RunArgs

EXPERIMENTS = Path("experiments")  # where results go unless --experiment says otherwise


def add_run_inputs(cmd: argparse.ArgumentParser, experiment_help: str | None = None) -> None:
    """The run's inputs; with `experiment_help`, --experiment has no default (the command makes one)."""
    cmd.add_argument("--dataset", type=Path, required=True, help="dataset directory (mounted read-only)")
    cmd.add_argument("--model", type=Path, required=True, help="model file (its folder is mounted read-only)")
    if experiment_help is None:
        cmd.add_argument("--experiment", type=Path, default=EXPERIMENTS, help="results root (default: experiments)")
    else:
        cmd.add_argument("--experiment", type=Path, help=experiment_help)
    cmd.add_argument("--count", type=int, help="use only the first N samples of the dataset")
    add_container_inputs(cmd)


def add_container_inputs(cmd: argparse.ArgumentParser) -> None:
    """What every command that starts a container of the system takes: its GPUs and its image."""
    cmd.add_argument("--gpus", help="GPUs for the container, as docker's --gpus (all, 2, device=0,1)")
    cmd.add_argument("--image", help="image reference (default: msb/<system's image>:latest)")


def run_args(options: argparse.Namespace, mode: str = "accuracy") -> RunArgs:
    """What `run`, `find-peak` and `explore` share from the command line; a matrix sets benchmark, scenario, mode
    per run."""
    return RunArgs(
        benchmark=options.benchmark or "",
        scenario=options.scenario or "",
        mode=mode,
        experiment=options.experiment,
        dataset=options.dataset,
        model=options.model,
        count=options.count,
        image=options.image,
        gpus=options.gpus,
    )
