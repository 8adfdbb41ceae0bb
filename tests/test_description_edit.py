"""One value of a description set in place (find-peak's and explore's --apply): only its line changes or is added,
comments and layout stay, and what cannot be set that way is refused rather than written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from msb.descriptions.edit import set_value, write_in_place
from msb.errors import SpecError

FOUR_SPACES = """benchmarks:
    resnet50:   # the main one
        backend: onnxruntime
        # batch size tuned by hand
        scenarios:
            Offline: {target_qps: 10}
"""


def test_a_missing_key_is_added_with_its_siblings_indent() -> None:
    new = set_value(FOUR_SPACES, ["benchmarks", "resnet50"], "batch_size", 32)
    assert new.splitlines()[2] == "        batch_size: 32"
    assert [line for line in new.splitlines() if line not in FOUR_SPACES.splitlines()] == ["        batch_size: 32"]
    assert yaml.safe_load(new)["benchmarks"]["resnet50"]["batch_size"] == 32


def test_an_existing_value_changes_on_its_line_only() -> None:
    text = set_value(FOUR_SPACES, ["benchmarks", "resnet50"], "batch_size", 32)
    new = set_value(text, ["benchmarks", "resnet50"], "batch_size", 8)
    assert [(a, b) for a, b in zip(text.splitlines(), new.splitlines(), strict=True) if a != b] == [
        ("        batch_size: 32", "        batch_size: 8")
    ]


def test_a_mapping_that_is_not_there_is_named() -> None:
    text = "benchmarks:\n  resnet50: {backend: onnxruntime, batch_size: 2}\n"
    with pytest.raises(SpecError, match=r"no benchmarks\.resnet50\.scenarios in the system description"):
        set_value(text, ["benchmarks", "resnet50", "scenarios"], "min_duration_ms", 4)
    flow = set_value(text, ["benchmarks", "resnet50"], "threads", 4)  # a flow mapping as the last step is fine
    assert flow == "benchmarks:\n  resnet50: {threads: 4, backend: onnxruntime, batch_size: 2}\n"


def test_what_cannot_be_set_on_one_line_is_refused_not_written() -> None:
    text = "benchmarks:\n  resnet50:\n    batch_size:\n      8\n"
    with pytest.raises(SpecError, match=r"could not set benchmarks\.resnet50\.batch_size in place") as error:
        set_value(text, ["benchmarks", "resnet50"], "batch_size", 32)
    assert error.value.fix == "set it by hand to 32"


def test_writing_in_place_keeps_the_files_mode(tmp_path: Path) -> None:
    path = tmp_path / "system.yaml"
    path.write_text(FOUR_SPACES)
    path.chmod(0o640)
    write_in_place(path, FOUR_SPACES + "# more\n")
    assert path.read_text().endswith("# more\n") and os.stat(path).st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["system.yaml"]
