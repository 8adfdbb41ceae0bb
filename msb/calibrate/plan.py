"""Plan one calibration (pure): the `CalibrationSpec` the harness reads and the container that runs it.

The container sees the model's folder, the dataset, the calibration list's folder and the calibration images read-only;
it writes only into its run folder in the experiment, from which the host moves the artefact into place.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from harness.contract import CONTAINER_DATASET, CONTAINER_EXPERIMENT, CONTAINER_MODEL_DIR, BackendSpec, ContractError
from harness.contract.calibration import (
    ARTEFACT_SUFFIX,
    ORT_METHODS,
    TENSORRT_METHOD,
    CalibrationSpec,
    artefact_name,
    calibration_to_json,
)
from msb.container import Mount
from msb.descriptions.calibration_lists import CalibrationDefaults
from msb.descriptions.system import SystemSpec
from msb.errors import SpecError
from msb.run.container_plan import UnitInputs, plan_container
from msb.run.expdir import Identity
from msb.run.runner import RUNS_DIR, ContainedRun

CONTAINER_CALIBRATION_LIST_DIR = "/data/calibration-list"
CONTAINER_CALIBRATION_IMAGES = "/data/calibration-images"
CACHE_DIR = ".cache/preprocessed"  # shared with runs: the held-out images are preprocessed once


@dataclass(frozen=True)
class CalibrateArgs:
    benchmark: str
    model: Path
    dataset: Path
    experiment: Path
    calibration_list: Path | None = None  # None: the benchmark's MLPerf list (data/calibration)
    calibration_dataset: Path | None = None  # None: the dataset
    output: Path | None = None  # None: beside the model
    method: str | None = None
    gate_samples: int | None = None
    image: str | None = None
    gpus: str | None = None


@dataclass(frozen=True)
class CalibrationPlan(ContainedRun[CalibrationSpec]):
    model: Path  # the full-precision model, on the host
    calibration_list: Path  # on the host
    destination: Path  # where the artefact goes on the host; its record beside it as <artefact>.json

    @property
    def spec_json(self) -> str:
        return calibration_to_json(self.spec)


def check_inputs(args: CalibrateArgs, calibration_list: Path) -> None:
    """The host's files exist before anything starts (the harness checks what is inside them)."""
    if not args.model.is_file():
        raise SpecError(f"model file {args.model} does not exist", "pass --model FILE, the full-precision ONNX model")
    for folder, flag in ((args.dataset, "--dataset"), (args.calibration_dataset, "--calibration-dataset")):
        if folder is not None and not folder.is_dir():
            raise SpecError(f"{flag} {folder} is not a directory", f"pass {flag} DIR with the images")
    if not calibration_list.is_file():
        raise SpecError(f"calibration list {calibration_list} does not exist", "pass --calibration-list FILE")
    if args.output is not None and not args.output.is_dir():
        raise SpecError(f"--output {args.output} is not a directory", "create it, or leave --output out")
    if args.gate_samples is not None and args.gate_samples < 1:
        raise SpecError(f"--gate-samples {args.gate_samples} is not 1 or more", "pass --gate-samples N with N >= 1")


def plan(system: SystemSpec, args: CalibrateArgs, defaults: CalibrationDefaults, ident: Identity) -> CalibrationPlan:
    if args.benchmark not in system.benchmarks:
        raise SpecError(
            f"system '{system.name}' has no settings for benchmark '{args.benchmark}'",
            f"choose one of: {', '.join(sorted(system.benchmarks))}",
        )
    bench = system.benchmarks[args.benchmark]
    if bench.backend not in ARTEFACT_SUFFIX:
        raise SpecError(
            f"system '{system.name}' runs {args.benchmark} on {bench.backend}, which has no INT8 calibration here",
            f"calibrate for a system whose backend is one of: {', '.join(ARTEFACT_SUFFIX)}",
        )
    calibration_list = args.calibration_list or defaults.calibration_list
    if calibration_list is None:
        raise SpecError(
            f"MLPerf publishes no calibration list for {args.benchmark}",
            "pass --calibration-list FILE (one name a line)",
        )
    experiment = args.experiment.resolve()
    run_id = uuid.uuid4().hex[:12]
    output = f"{CONTAINER_EXPERIMENT}/{RUNS_DIR}/{run_id}"
    calibration_images = args.calibration_dataset.resolve() if args.calibration_dataset else None
    extra_mounts = [Mount(calibration_list.resolve().parent, CONTAINER_CALIBRATION_LIST_DIR, read_only=True)]
    if calibration_images is not None:
        extra_mounts.append(Mount(calibration_images, CONTAINER_CALIBRATION_IMAGES, read_only=True))
    unit = UnitInputs(args.benchmark, run_id, experiment, args.dataset, args.model, args.image, args.gpus)
    command = ("calibrate", "--spec", f"{output}/spec.json")
    container = plan_container(system, unit, "calibrate", command, ident, tuple(extra_mounts))
    try:
        spec = CalibrationSpec(
            benchmark=args.benchmark,
            backend=BackendSpec(
                name=bench.backend,
                device=bench.device,
                precision="int8",
                batch_size=bench.batch_sizes.largest,
                threads=bench.thread_counts.default,  # of no scenario: what the scenarios not listed take
                options=dict(bench.backend_options),
            ),
            dataset=CONTAINER_DATASET,
            model=f"{CONTAINER_MODEL_DIR}/{args.model.name}",
            calibration_list=f"{CONTAINER_CALIBRATION_LIST_DIR}/{calibration_list.name}",
            calibration_dataset=CONTAINER_CALIBRATION_IMAGES if calibration_images else CONTAINER_DATASET,
            output=output,
            method=args.method or ("minmax" if bench.backend == "onnxruntime" else TENSORRT_METHOD),
            gate_samples=args.gate_samples or defaults.gate_samples,
            gate_fraction=defaults.gate_fraction,
            cache_dir=f"{CONTAINER_EXPERIMENT}/{CACHE_DIR}",
            exit_on_stdin_eof=True,
        ).validate()
    except ContractError as error:
        methods = ", ".join(ORT_METHODS) if bench.backend == "onnxruntime" else TENSORRT_METHOD
        raise SpecError(f"calibration of {args.benchmark}: {error}", f"--method is one of: {methods}") from None
    folder = (args.output or args.model.parent).resolve()
    destination = folder / artefact_name(bench.backend, args.model.name)
    return CalibrationPlan(
        run_id, experiment, spec, container, args.model.resolve(), calibration_list.resolve(), destination
    )
