"""The GPUs Slurm allocated to this job, as docker's --gpus takes them.

PLACEHOLDER: a minimal version for the slurm branch; the cluster-images branch's module of the same name and signature
replaces it at merge."""

from __future__ import annotations

import re
from collections.abc import Mapping

_IDS = re.compile(r"[0-9A-Za-z-]+(,[0-9A-Za-z-]+)*")


def allocated_gpus(environ: Mapping[str, str]) -> str | None:
    """`device=0,1` from CUDA_VISIBLE_DEVICES (else SLURM_JOB_GPUS); None where Slurm allocated none."""
    for key in ("CUDA_VISIBLE_DEVICES", "SLURM_JOB_GPUS"):
        value = environ.get(key, "").strip()
        if value and value != "NoDevFiles" and _IDS.fullmatch(value):
            return f"device={value}"
    return None
