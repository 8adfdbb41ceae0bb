"""The GPUs Slurm gave a job, in the form `docker run --gpus` takes (`device=0,1`; msb/run/runner.py checks it).

Precedence, first set and non-empty wins:

1. `SLURM_STEP_GPUS`: the GPUs of this job step (`srun` inside the job), as the node's GPU ids.
2. `SLURM_JOB_GPUS`: the GPUs of the whole job on this node (the batch script's step), as the node's GPU ids.
3. `CUDA_VISIBLE_DEVICES`: what CUDA in this process may use. Last because where Slurm constrains devices with
   cgroups (`ConstrainDevices=yes`) it renumbers them from 0 for the processes inside the job's cgroup; the Docker
   daemon is not in that cgroup and numbers the node's GPUs as the node does, so `device=0` would be another job's
   GPU. It is right where no Slurm variable is set (a user's own choice, or Slurm without device cgroups).

Each id is a GPU index, a GPU UUID (`GPU-...`) or a MIG UUID (`MIG-...`). Slurm's `NoDevFiles` (set where the node
has GPUs but the job was given none) means none: the unit gets no `--gpus`, and one whose system needs a GPU is
refused as any run without GPUs is. Anything else (CUDA's `-1`, spaces) is an MsbError naming the variable: running
on a guessed GPU would measure another job's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from msb.errors import MsbError

PRECEDENCE = ("SLURM_STEP_GPUS", "SLURM_JOB_GPUS", "CUDA_VISIBLE_DEVICES")
NONE_ALLOCATED = "NoDevFiles"
_ID = re.compile(r"[0-9]+|GPU-[0-9a-fA-F-]+|MIG-[0-9a-fA-F-]+")


def allocated_gpus(environ: Mapping[str, str]) -> str | None:
    """`device=ID,...` for the first variable of PRECEDENCE that is set and not empty; None when none is (no GPUs were
    allocated: the run stays on the CPU, as its system description says)."""
    for name in PRECEDENCE:
        value = environ.get(name, "")
        if not value:
            continue
        if value == NONE_ALLOCATED:
            return None
        ids = value.split(",")
        bad = [gpu for gpu in ids if not _ID.fullmatch(gpu)]
        if bad:
            raise MsbError(
                f"{name}={value!r} names no GPU ({', '.join(repr(b) for b in bad)}): expected indexes or GPU/MIG UUIDs"
                " separated by commas",
                "ask Slurm for GPUs with --gpus or --gres=gpu:N on a node whose gres.conf lists their device files",
            )
        if len(set(ids)) != len(ids):
            raise MsbError(f"{name}={value!r} names a GPU twice", "unset it, or list each GPU once")
        return "device=" + ",".join(ids)
    return None
