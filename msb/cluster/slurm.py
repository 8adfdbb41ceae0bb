"""The Slurm edge: sbatch, squeue, scontrol through Slurm's own command line (subprocess), behind `Slurm`.

Slurm's CLI rather than a library: pyslurm must match the cluster's Slurm C API version, and submitit pickles Python
callables, while we submit a command; the CLI is on every cluster's login node and stable across versions.
Without accounting (no sacct), an ended job is read from `scontrol show job` (kept MinJobAge seconds) and else
from the job completion file (JobCompType=jobcomp/filetxt)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Protocol

from msb.cluster.jobs import Job, job_from_fields, parse_fields
from msb.errors import MsbError


class SlurmError(MsbError):
    """Slurm's CLI is missing or refused a request."""


class Slurm(Protocol):
    def submit(self, argv: Sequence[str]) -> str:
        """Run `sbatch --parsable ...`; the job id."""
        ...

    def queue(self, job_ids: Collection[str]) -> dict[str, Job]:
        """Those of `job_ids` that squeue lists (pending, running, completing), by id."""
        ...

    def ended(self, job_id: str) -> Job | None:
        """An ended job's last state, or None where Slurm no longer knows it."""
        ...


class SlurmCli:
    """The real cluster, through its commands on PATH."""

    def __init__(self, jobcomp: Path | None = None) -> None:
        if shutil.which("sbatch") is None or shutil.which("squeue") is None:
            raise SlurmError(
                "no Slurm client here (sbatch and squeue are not on PATH)",
                "run on the cluster's login node, or install slurm-client (scripts/setup-slurm.sh for a test cluster)",
            )
        self._jobcomp = jobcomp

    def _call(self, argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(list(argv), capture_output=True, text=True, timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise SlurmError(f"{argv[0]} did not answer ({error})", "check that slurmctld runs (sinfo)") from None

    def submit(self, argv: Sequence[str]) -> str:
        done = self._call(argv)
        job = done.stdout.strip().split(";")[0]
        if done.returncode != 0 or not job.isdigit():
            raise SlurmError(
                f"sbatch refused the job: {done.stderr.strip() or done.stdout.strip()}",
                "fix the system's slurm: block (partition, gpus_per_task, time, sbatch_options) as sbatch says",
            )
        return job

    def queue(self, job_ids: Collection[str]) -> dict[str, Job]:
        if not job_ids:
            return {}
        # -r: an array's tasks one a line (`<array job>_<task>`), pending ones too, as states and status name them
        done = self._call(["squeue", "-h", "-r", "-o", "%i|%T|%N|%r", "-j", ",".join(sorted(job_ids))])
        if done.returncode != 0 and "Invalid job id" in done.stderr:
            return {}  # none of them is known any more (squeue refuses a list of only unknown ids)
        if done.returncode != 0:
            raise SlurmError(f"squeue failed: {done.stderr.strip()}", "check that slurmctld runs (sinfo)")
        jobs = {}
        for line in done.stdout.splitlines():
            parts = line.strip().split("|")
            if len(parts) == 4:
                reason = "" if parts[3] == "None" else parts[3]
                jobs[parts[0]] = Job(parts[0], parts[1], parts[2], reason)
        return jobs

    def ended(self, job_id: str) -> Job | None:
        done = self._call(["scontrol", "-o", "show", "job", job_id])
        if done.returncode == 0 and done.stdout.strip():
            return job_from_fields(parse_fields(done.stdout.strip()))
        path = self._jobcomp or self._jobcomp_path()
        if path is None or not path.is_file():
            return None
        found = None
        for line in path.read_text(errors="replace").splitlines():
            fields = parse_fields(line)
            if fields.get("JobId") == job_id:
                found = job_from_fields(fields)  # the last line of a job id reused after a restart wins
        return found

    def _jobcomp_path(self) -> Path | None:
        done = self._call(["scontrol", "show", "config"])
        config = {k.strip(): v.strip() for k, _, v in (ln.partition("=") for ln in done.stdout.splitlines())}
        if config.get("JobCompType") != "jobcomp/filetxt" or not config.get("JobCompLoc"):
            return None
        return Path(config["JobCompLoc"])
