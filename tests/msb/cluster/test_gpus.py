"""msb/cluster/gpus.py: what Slurm allocated becomes the container's `--gpus device=...`."""

from __future__ import annotations

import pytest

from msb.cluster.gpus import allocated_gpus
from msb.errors import MsbError
from msb.run.container_plan import GPU_REQUEST


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),
        ({"SLURM_JOB_GPUS": "2,3"}, "device=2,3"),
        # The step's GPUs over the job's, the job's over CUDA's (renumbered from 0 inside the job's cgroup).
        ({"SLURM_STEP_GPUS": "3", "SLURM_JOB_GPUS": "2,3", "CUDA_VISIBLE_DEVICES": "0"}, "device=3"),
        ({"SLURM_JOB_GPUS": "2,3", "CUDA_VISIBLE_DEVICES": "0,1"}, "device=2,3"),
        ({"SLURM_STEP_GPUS": "", "SLURM_JOB_GPUS": "5"}, "device=5"),  # empty: not set
        ({"CUDA_VISIBLE_DEVICES": "1"}, "device=1"),
        ({"CUDA_VISIBLE_DEVICES": ""}, None),  # CUDA's "no GPU"
        ({"CUDA_VISIBLE_DEVICES": "NoDevFiles"}, None),  # Slurm's "this job has none of the node's GPUs"
        ({"SLURM_JOB_GPUS": "NoDevFiles", "CUDA_VISIBLE_DEVICES": "0"}, None),  # never falls through to a guess
        (
            {"CUDA_VISIBLE_DEVICES": "GPU-8f6c1a2b-0000-1111-2222-333344445555"},
            "device=GPU-8f6c1a2b-0000-1111-2222-333344445555",
        ),
        (
            {"SLURM_JOB_GPUS": "MIG-5c3d0e2a-aaaa-bbbb-cccc-ddddeeeeffff"},
            "device=MIG-5c3d0e2a-aaaa-bbbb-cccc-ddddeeeeffff",
        ),
    ],
)
def test_the_allocation_in_dockers_form(environ: dict[str, str], expected: str | None) -> None:
    assert allocated_gpus(environ) == expected
    assert expected is None or GPU_REQUEST.fullmatch(expected)  # what the runner accepts for --gpus


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"SLURM_JOB_GPUS": "0, 1"}, "SLURM_JOB_GPUS='0, 1' names no GPU (' 1')"),
        ({"SLURM_STEP_GPUS": "0,,1"}, "SLURM_STEP_GPUS='0,,1' names no GPU ('')"),
        ({"CUDA_VISIBLE_DEVICES": "-1"}, "CUDA_VISIBLE_DEVICES='-1' names no GPU ('-1')"),
        ({"SLURM_JOB_GPUS": "1,1"}, "SLURM_JOB_GPUS='1,1' names a GPU twice"),
    ],
)
def test_a_malformed_value_is_named(environ: dict[str, str], named: str) -> None:
    with pytest.raises(MsbError) as raised:
        allocated_gpus(environ)
    assert named in str(raised.value)
