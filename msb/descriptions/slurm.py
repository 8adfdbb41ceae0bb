"""A system description's `slurm:` block: where its units run on a Slurm cluster (`build.py run --slurm`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from msb.descriptions.yamlfile import Where, check_keys, get_int, get_str, get_strings, shown
from msb.errors import SpecError


@dataclass(frozen=True)
class SlurmOptions:
    """Where a system's units run on a Slurm cluster (`build.py run --slurm`): sbatch's options for its jobs. A field
    left out is left to the cluster (its default partition, no GPUs, the partition's time limit)."""

    partition: str | None = None
    gpus_per_task: int | None = None  # sbatch --gres=gpu:N
    time: str | None = None  # sbatch --time, e.g. "2:00:00"
    account: str | None = None
    constraint: str | None = None
    sbatch_options: tuple[str, ...] = ()  # further options, each as sbatch takes it: "--qos=high"


SLURM_KEYS = ("partition", "gpus_per_task", "time", "account", "constraint", "sbatch_options")


def parse_slurm(data: object, where: Where) -> SlurmOptions:
    """The `slurm:` block: each key sbatch's, strictly typed; sbatch_options are whole options (`--qos=high`)."""
    if not isinstance(data, dict):
        raise SpecError(
            f"{where}: expected a mapping (KEY: VALUE lines), got {shown(data)}",
            f"give some of: {', '.join(SLURM_KEYS)}",
        )
    check_keys(data, where, required=[], optional=SLURM_KEYS)
    extra = get_strings(data, "sbatch_options", where, ())
    for option in extra:
        if not option.startswith("-"):
            raise SpecError(
                f"{where.at('sbatch_options')}: {shown(option)} is not an sbatch option",
                "give each option as sbatch takes it, e.g. --qos=high or --mem=64G",
            )
    if isinstance(data.get("time"), int) and not isinstance(data.get("time"), bool):
        # YAML 1.1 reads an unquoted 0:01:00 as the number 60 (base 60): which unit was meant cannot be told.
        raise SpecError(
            f"{where.at('time')}: {shown(data['time'])} is a number (YAML reads an unquoted 1:00:00 as base 60)",
            'quote the time limit: time: "1:00:00" (H:MM:SS), or "30" for minutes',
        )
    time = get_str(data, "time", where, None)
    if time is not None and not re.fullmatch(r"(\d+-)?\d+(:\d{1,2}){0,2}", time):
        raise SpecError(
            f"{where.at('time')}: {shown(time)} is not a Slurm time limit",
            'give minutes ("30"), H:MM:SS ("2:00:00") or D-HH:MM:SS ("1-00:00:00"), quoted',
        )
    return SlurmOptions(
        partition=get_str(data, "partition", where, None),
        gpus_per_task=get_int(data, "gpus_per_task", where, None, minimum=1),
        time=time,
        account=get_str(data, "account", where, None),
        constraint=get_str(data, "constraint", where, None),
        sbatch_options=tuple(extra),
    )
