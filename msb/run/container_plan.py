"""The container of one unit of work on a system (a run, find-peak, a calibration; later a cluster's units), planned
once for all of them: who it runs as, what it sees, which GPUs, and the labels that tie it to its build.py.

Every unit sees the experiment read-write and the dataset and the model's folder read-only; a unit adds what only it
reads (a calibration its list and images). Pure: no engine, no file system."""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path

from harness.contract import CONTAINER_DATASET, CONTAINER_EXPERIMENT, CONTAINER_MODEL_DIR
from msb.container import ContainerSpec, Mount
from msb.descriptions.system import SystemSpec
from msb.errors import GpuUnavailable, SpecError
from msb.labels import LABEL_EXPERIMENT, LABEL_HOST, LABEL_HOST_PID, LABEL_RUN, image_ref
from msb.run.expdir import Identity

# docker's --gpus forms; the engine turns each into a device request.
GPU_REQUEST = re.compile(r"all|[1-9][0-9]*|device=[0-9A-Za-z-]+(,[0-9A-Za-z-]+)*")
GPU_FORMS = "all, a count (2) or device=0,1"


@dataclass(frozen=True)
class UnitInputs:
    """What one unit of a system is and reads, as the command line gave it."""

    benchmark: str
    run_id: str
    experiment: Path  # on the host, absolute
    dataset: Path
    model: Path
    image: str | None = None  # None: the system's image, msb/<image>:latest
    gpus: str | None = None  # None: the description's run.gpus


def gpu_request(system: SystemSpec, requested: str | None) -> str | None:
    """The GPUs the unit asks docker for: --gpus, else the description's run.gpus; refused unless docker's form."""
    gpus = system.run.gpus if requested is None else requested
    if gpus is not None and not GPU_REQUEST.fullmatch(gpus):
        where = "--gpus" if requested is not None else f"run.gpus of system '{system.name}'"
        raise SpecError(f"{where} {gpus!r} is not a GPU request", f"use {GPU_FORMS}")
    return gpus


def plan_container(
    system: SystemSpec,
    unit: UnitInputs,
    what: str,
    command: tuple[str, ...],
    ident: Identity,
    extra_mounts: tuple[Mount, ...] = (),
) -> ContainerSpec:
    """The unit's container; `what` names it among the system's containers (e.g. `Offline-accuracy`, `calibrate`).
    A benchmark on a CUDA device without GPUs is refused: we never fall back to the CPU."""
    gpus = gpu_request(system, unit.gpus)
    device = system.benchmarks[unit.benchmark].device
    if device.startswith("cuda") and gpus is None:
        raise GpuUnavailable(
            f"{unit.benchmark} on system '{system.name}' runs on device '{device}' but no GPUs were requested",
            "pass --gpus all (or set run.gpus in the system description)",
        )
    name = f"msb-{system.name}-{unit.benchmark}-{what}-{unit.run_id[:8]}".lower().replace("_", "-")
    mounts = (
        Mount(unit.experiment, CONTAINER_EXPERIMENT, read_only=False),
        Mount(unit.dataset.resolve(), CONTAINER_DATASET, read_only=True),
        Mount(unit.model.resolve().parent, CONTAINER_MODEL_DIR, read_only=True),
        *extra_mounts,
    )
    return ContainerSpec(
        image=unit.image or image_ref(system.image),
        name=name,
        command=command,
        user=f"{ident.container_uid}:{ident.gid}",
        mounts=mounts,
        # The labels find a unit's leftovers: its run, its experiment, and the build.py that owns it.
        labels={
            LABEL_RUN: unit.run_id,
            LABEL_EXPERIMENT: str(unit.experiment),
            LABEL_HOST_PID: str(os.getpid()),
            LABEL_HOST: socket.gethostname(),
        },
        shm_size=system.run.shm_size,
        ulimits=dict(system.run.ulimits),
        gpus=gpus,
    )
