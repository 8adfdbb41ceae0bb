"""`build.py status`: every unit of a --slurm submission as the table shows it, from the units' state files, the
chain files and what Slurm says of their jobs."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from msb.cluster import chain as chains
from msb.cluster.jobs import Job
from msb.cluster.node import read_chain
from msb.cluster.slurm import Slurm
from msb.cluster.unit_status import UnitView, unit_view
from msb.run.progress import DONE, FAILED, RUNNING
from msb.run.state import read_states

_STYLE = {DONE: "green", RUNNING: "bold yellow", FAILED: "bold red"}


def views(experiment: Path, slurm: Slurm) -> list[UnitView]:
    """Every unit of every submitted chain, as status shows it."""
    states = read_states(experiment)
    jobs = chains.chain_jobs(experiment)
    queue = slurm.queue({s.job for s in states.values() if s.job} | set(jobs.values()))
    rows = []
    ended: dict[str, Job | None] = {}
    for name in chains.chain_names(experiment):
        chain = read_chain(experiment, name)
        for run in chain.runs:
            state = states.get(run.key)
            job = (state.job if state else None) or jobs.get(name)
            if job and job not in queue and job not in ended:
                ended[job] = slurm.ended(job)
            rows.append(unit_view(experiment, name, run.key, state, jobs.get(name), queue, ended, Path.is_file))
    return rows


STATES = ("done", "running", "pending", "failed")


def counted(rows: list[UnitView]) -> str:
    return ", ".join(f"{sum(row.state == state for row in rows)} {state}" for state in STATES)


def render(rows: list[UnitView]) -> Table:
    table = Table("unit", "state", "job", "node", "", box=None, pad_edge=False)
    for row in rows:
        style = _STYLE.get(row.state, "dim")
        table.add_row(row.key, f"[{style}]{row.state}[/]", row.job, row.node, row.note)
    return table
