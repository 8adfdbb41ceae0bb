"""`build.py calibrate`: make the system backend's INT8 artefact in its image, gated on accuracy."""

from __future__ import annotations

import argparse
from pathlib import Path

from msb.calibrate import execute, plan
from msb.commands import Subparsers, register, status_console
from msb.descriptions.calibration_lists import load_defaults
from msb.descriptions.image import load_image_spec
from msb.descriptions.system import load_system_spec
from msb.engine import DockerEngine
from msb.project import Project
from msb.run import leftovers, runner
from msb.run.arguments import EXPERIMENTS, add_container_inputs
from msb.run.expdir import identity_for, prepare


def add_parser(sub: Subparsers, project: Project) -> None:
    cal = sub.add_parser(
        "calibrate",
        help="make the system backend's INT8 artefact from a model and a calibration list, with an accuracy gate",
        description="Runs in the system's image: ONNX Runtime makes MODEL.int8.onnx (a QDQ model, ONNX Runtime's static"
        " quantization), TensorRT MODEL.calib (its entropy calibration cache). Then both models are scored on held-out"
        " images of --dataset; the record MODEL.int8.onnx.json / MODEL.calib.json beside the artefact keeps the hashes,"
        " method, tool versions and both figures. Exit 0: the gate passed; 1: it failed (build.py run refuses the"
        " artefact); 2: bad input.",
    )
    cal.add_argument("--system", required=True, help="system description in systems/ or a YAML file's path")
    cal.add_argument("--benchmark", required=True, help="benchmark, as named in the system description")
    cal.add_argument("--model", type=Path, required=True, help="the full-precision ONNX model (its folder: read-only)")
    cal.add_argument("--dataset", type=Path, required=True, help="the validation set: the gate's held-out images")
    cal.add_argument(
        "--calibration-list",
        type=Path,
        help="image names, one a line (default: MLPerf's list for the benchmark, data/calibration/lists.yaml)",
    )
    cal.add_argument(
        "--calibration-dataset",
        type=Path,
        help="folder of the listed images when they are not in --dataset (COCO's and OpenImages' lists name training"
        " images)",
    )
    cal.add_argument("--output", type=Path, help="folder for the artefact and its record (default: the model's)")
    cal.add_argument("--method", help="onnxruntime: minmax (default), entropy or percentile; tensorrt: entropy")
    cal.add_argument("--gate-samples", type=int, metavar="N", help="held-out images (default: lists.yaml's)")
    cal.add_argument("--experiment", type=Path, default=EXPERIMENTS, help="scratch and preprocessed cache")
    add_container_inputs(cal)
    register(cal, command)


def command(project: Project, options: argparse.Namespace) -> int:
    console = status_console()
    system = load_system_spec(project, options.system)
    ident = identity_for(system, load_image_spec(project, system.image).gid)
    defaults = load_defaults(project.calibration_lists, options.benchmark)
    inputs = plan.CalibrateArgs(
        benchmark=options.benchmark,
        model=options.model,
        dataset=options.dataset,
        experiment=options.experiment,
        calibration_list=options.calibration_list,
        calibration_dataset=options.calibration_dataset,
        output=options.output,
        method=options.method,
        gate_samples=options.gate_samples,
        image=options.image,
        gpus=options.gpus,
    )
    calibration = plan.plan(system, inputs, defaults, ident)
    plan.check_inputs(inputs, calibration.calibration_list)
    engine = DockerEngine()
    runner.check_image(calibration.container, system.round, system.name, calibration.spec.backend.name, engine)
    prepare(calibration.experiment, ident)
    leftovers.remove(calibration.experiment, engine, lambda text: console.print(f"[yellow]cleanup:[/] {text}"))
    console.print(f"[bold]calibrate[/] {options.benchmark} on {calibration.spec.backend.name} in {calibration.name}")
    record = execute.execute(calibration, engine, ident)
    where = f"{calibration.destination} (record {execute.record_path(calibration.destination).name})"
    if not record.gate_passed:
        console.print(
            f"[bold red]gate failed[/]: {record.message}; {where} is kept, and build.py run refuses it", soft_wrap=True
        )
        return 1
    console.print(f"[bold green]calibrated[/] {where}: {record.message}", soft_wrap=True)
    return 0
