"""The `slurm:` block of a system description: read strictly, each bad key or value named with its fix."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from msb.descriptions.slurm import SlurmOptions
from msb.descriptions.system import parse_system_spec
from msb.errors import SpecError
from tests.support import REPO


def with_slurm(block: object) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((REPO / "systems" / "cpu-demo.yaml").read_text())
    data["slurm"] = block
    return data


def test_a_full_block_is_read_and_an_absent_one_is_none() -> None:
    text = """
partition: datacenter
gpus_per_task: 8
time: "2:00:00"
account: mlperf
constraint: h100
sbatch_options: [--qos=high, --mem=64G]
"""
    spec = parse_system_spec(with_slurm(yaml.safe_load(text)), "s.yaml")
    assert spec.slurm == SlurmOptions("datacenter", 8, "2:00:00", "mlperf", "h100", ("--qos=high", "--mem=64G"))
    data = with_slurm(None)
    del data["slurm"]
    assert parse_system_spec(data, "s.yaml").slurm is None


@pytest.mark.parametrize(
    ("block", "named", "fix"),
    [
        ({"partion": "edge"}, "unknown field(s) partion", "valid fields: account, constraint, gpus_per_task"),
        ({"gpus_per_task": 0}, "slurm.gpus_per_task", "1 or more"),
        ({"time": 60}, "slurm.time: 60 is a number", 'quote the time limit: time: "1:00:00"'),
        ({"time": "two hours"}, "'two hours' is not a Slurm time limit", "H:MM:SS"),
        ({"sbatch_options": ["qos=high"]}, "'qos=high' is not an sbatch option", "e.g. --qos=high"),
        ({"sbatch_options": "--qos=high"}, "slurm.sbatch_options", "- TEXT"),
        ("edge", "slurm: expected a mapping", "give some of: partition"),
    ],
)
def test_a_bad_block_names_the_key_and_the_fix(block: object, named: str, fix: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_system_spec(with_slurm(block), "s.yaml")
    assert named in caught.value.message and fix in str(caught.value), str(caught.value)
