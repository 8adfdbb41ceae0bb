"""The Slurm edge (msb/cluster/slurm.py) against the real cluster: what it submits, what it reads of a live job
and of an ended one, and sbatch's refusal as an error naming the fix."""

from __future__ import annotations

import subprocess

import pytest

from msb.cluster.slurm import SlurmCli, SlurmError

pytestmark = pytest.mark.slurm


def test_a_job_is_submitted_seen_queued_and_read_back_once_cancelled(cluster: None) -> None:
    slurm = SlurmCli()
    job = slurm.submit(["sbatch", "--parsable", "--job-name=msb-edge-test", "--output=/dev/null", "--wrap", "sleep 60"])
    try:
        assert job.isdigit()
        assert slurm.queue({job, "999999"})[job].state in ("PENDING", "RUNNING")
    finally:
        subprocess.run(["scancel", job], check=True)
    ended = None
    for _ in range(60):
        ended = slurm.ended(job)
        if ended is not None and not ended.live:
            break
        subprocess.run(["sleep", "0.5"], check=True)
    assert ended is not None and ended.state == "CANCELLED"
    assert slurm.queue({"999999"}) == {} and slurm.queue(set()) == {}


def test_a_job_sbatch_refuses_is_an_error_naming_the_slurm_block(cluster: None) -> None:
    with pytest.raises(SlurmError, match=r"sbatch refused the job: .*partition") as refused:
        SlurmCli().submit(["sbatch", "--parsable", "--partition=nowhere", "--wrap", "true"])
    assert "slurm: block" in refused.value.fix
