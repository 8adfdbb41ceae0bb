"""What `build.py status` says of each unit (pure): its state file read against what Slurm says of its job.

A unit whose job ended without the unit done is failed, with Slurm's word for the end (CANCELLED, TIMEOUT,
NODE_FAIL, ...): the job's own process may have had no chance to say so (SIGKILL, a lost node)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from msb.cluster.chain import job_log
from msb.cluster.jobs import Job
from msb.run.progress import DONE, FAILED, PENDING, RUNNING
from msb.run.state import RunState


@dataclass(frozen=True)
class UnitView:
    key: str
    state: str  # pending, running, done, failed
    job: str = ""
    node: str = ""
    note: str = ""  # why it failed and where its log is (relative to the experiment); what a pending unit waits for


def slurm_end(job: Job | None, job_id: str) -> str:
    """An ended job in Slurm's words: `TIMEOUT (TimeLimit), exit 0:15`."""
    if job is None:
        return f"job {job_id} ended and Slurm no longer knows it (older than MinJobAge, not in the completion file)"
    exit_code = f", exit {job.exit_code}" if job.exit_code and job.exit_code != "0:0" else ""
    return f"{job.state or 'ENDED'}" + (f" ({job.reason})" if job.reason else "") + exit_code


def unit_view(
    experiment: Path,
    chain: str,
    key: str,
    state: RunState | None,
    chain_job: str | None,
    queue: Mapping[str, Job],
    ended: Mapping[str, Job | None],
    written: Callable[[Path], bool] = lambda path: True,
) -> UnitView:
    """`chain_job`: the chain's latest job; `queue`: the live jobs (squeue); `ended`: what Slurm says of the other
    jobs named; `written`: whether a job's log exists (a job that could not write it could not write the tree)."""
    if state is None:
        return UnitView(key, PENDING, note="not submitted")
    job, node = state.job or (chain_job if state.state == PENDING else None) or "", state.node or ""
    if state.state == DONE:
        return UnitView(key, DONE, job, node)
    if not job and state.state == PENDING:
        return UnitView(key, PENDING, note="not submitted (sbatch did not take its job)")
    if not job:  # a unit of a local matrix
        local_log = Path(".msb") / "logs" / f"{key}.log"
        note = f"{state.reason or ''} log: {local_log}".strip() if state.state == FAILED else ""
        return UnitView(key, state.state, note=note)
    log = job_log(experiment, chain, job).relative_to(experiment)
    live = queue.get(job)
    if live is not None and state.state in (PENDING, RUNNING):
        if state.state == RUNNING and live.state == "RUNNING":
            return UnitView(key, RUNNING, job, node or live.node)
        waiting = f"job {job} {live.state.lower()}" + (f" ({live.reason})" if live.reason else "")
        return UnitView(key, PENDING, job, live.node, waiting)
    end = slurm_end(ended.get(job), job) if live is None else ""
    if state.state == FAILED:
        slurm = f"{end}: " if end and not end.startswith("COMPLETED") else ""
        return UnitView(key, FAILED, job, node, f"{slurm}{state.reason or 'failed'}; log: {log}")
    if not written(experiment / log):
        where = f"{experiment / '.msb' / 'logs'}"
        return UnitView(key, FAILED, job, node, f"{end}; the job wrote no log: {where} is not writable from its node")
    return UnitView(key, FAILED, job, node, f"{end}; log: {log}")
