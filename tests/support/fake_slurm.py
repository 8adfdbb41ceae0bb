"""A stand-in for a Slurm cluster, named as such: it takes sbatch lines (recorded, never run) and answers squeue
and scontrol from what the test sets. The cluster commands are unit-tested against it; the real cluster runs in
tests/integration/test_slurm_cluster.py."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from msb.cluster.jobs import Job


@dataclass
class FakeSlurm:
    submitted: list[list[str]] = field(default_factory=list)
    live: dict[str, Job] = field(default_factory=dict)  # what squeue lists
    gone: dict[str, Job] = field(default_factory=dict)  # what scontrol knows of ended jobs
    next_id: int = 100

    def submit(self, argv: Sequence[str]) -> str:
        self.submitted.append(list(argv))
        job = str(self.next_id)
        self.next_id += 1
        self.live[job] = Job(job, "PENDING", reason="Priority")
        for arg in argv:  # an array's tasks are listed one by one (squeue -r), as <array job>_<task>
            if arg.startswith("--array="):
                for task in arg.removeprefix("--array=").split(","):
                    self.live[f"{job}_{task}"] = Job(f"{job}_{task}", "PENDING", reason="Priority")
        return job

    def queue(self, job_ids: Collection[str]) -> dict[str, Job]:
        return {job: self.live[job] for job in job_ids if job in self.live}

    def ended(self, job_id: str) -> Job | None:
        return self.gone.get(job_id)

    def end(self, job: str, state: str, reason: str = "", exit_code: str = "0:0") -> None:
        """The job ends as Slurm would tell it."""
        self.live.pop(job, None)
        self.gone[job] = Job(job, state, "n1", reason, exit_code)
