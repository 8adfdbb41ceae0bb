"""Slurm's words for a job, as data (pure): its state, node, reason and exit code, read from `Key=Value` lines
(scontrol -o, the jobcomp/filetxt completion file)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Job:
    """A job as Slurm tells it: state (PENDING, RUNNING, COMPLETED, CANCELLED, TIMEOUT, NODE_FAIL, FAILED, ...),
    its node(s), Slurm's reason and exit code where given."""

    id: str
    state: str
    node: str = ""
    reason: str = ""
    exit_code: str = ""

    @property
    def live(self) -> bool:
        return self.state in LIVE_STATES


LIVE_STATES = frozenset({"PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED", "REQUEUED", "RESIZING"})


def parse_fields(line: str) -> dict[str, str]:
    """`Key=Value Key=Value` (scontrol -o, jobcomp/filetxt) as a mapping; values hold no spaces there."""
    return dict(part.split("=", 1) for part in line.split() if "=" in part)


def job_from_fields(fields: dict[str, str]) -> Job:
    reason = fields.get("Reason", "")
    return Job(
        id=fields.get("JobId", ""),
        state=fields.get("JobState", "").split()[0] if fields.get("JobState") else "",
        node=fields.get("NodeList", "") if fields.get("NodeList") != "(null)" else "",
        reason="" if reason == "None" else reason,
        exit_code=fields.get("ExitCode", ""),
    )
