"""One value of a description set in place (find-peak's and explore's --apply): only its line changes or is added,
comments and layout stay, and what cannot be set that way is refused rather than written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from msb.descriptions.edit import set_scenario_value, set_value, write_in_place
from msb.descriptions.system import BenchmarkSettings, parse_system_spec
from msb.errors import SpecError
from msb.explore.run import set_for_scenario

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


H200 = """benchmarks:
  resnet50:
    backend: tensorrt
    batch_size: {batch}   # what fits
    scenarios:
      Offline: {{}}
      Server: {{target_qps: 1000}}
"""


def server(text: str, size: int = 64) -> str:
    return set_scenario_value(text, ["benchmarks", "resnet50"], "batch_size", "Server", size, "default")


def changed(old: str, new: str) -> list[tuple[str, str]]:
    return [(a, b) for a, b in zip(old.splitlines(), new.splitlines(), strict=True) if a != b]


def sizes(text: str) -> object:
    return yaml.safe_load(text)["benchmarks"]["resnet50"]["batch_size"]


def test_one_size_for_all_becomes_the_fallback_beside_the_scenarios_own() -> None:
    """`batch_size: 8` and a Server recommendation of 64: Offline keeps 8, on the same line, comment and all."""
    text = H200.format(batch="8")
    new = server(text)
    assert changed(text, new) == [
        ("    batch_size: 8   # what fits", "    batch_size: {default: 8, Server: 64}   # what fits")
    ]
    assert sizes(new) == {"default": 8, "Server": 64}
    assert server(text, 8) == text  # already the size of every scenario: nothing to write


def test_a_flow_mapping_gets_the_scenarios_entry() -> None:
    text = H200.format(batch="{Offline: 256, Server: 32}")
    new = server(text)
    assert changed(text, new) == [
        (
            "    batch_size: {Offline: 256, Server: 32}   # what fits",
            "    batch_size: {Offline: 256, Server: 64}   # what fits",
        )
    ]
    added = set_scenario_value(text, ["benchmarks", "resnet50"], "batch_size", "SingleStream", 1, "default")
    assert sizes(added) == {"SingleStream": 1, "Offline": 256, "Server": 32}


def test_a_block_mapping_changes_or_gains_one_line() -> None:
    block = "batch_size:   # what fits\n      # the largest that fits\n      Offline: 256\n      Server: 32  # tuned"
    text = H200.format(batch="8").replace("batch_size: 8   # what fits", block)
    new = server(text)
    assert changed(text, new) == [("      Server: 32  # tuned", "      Server: 64  # tuned")]
    without_server = text.replace("      Server: 32  # tuned\n", "")
    added = server(without_server)
    assert [line for line in added.splitlines() if line not in without_server.splitlines()] == ["      Server: 64"]
    assert sizes(added) == {"Offline": 256, "Server": 64}


def test_no_batch_size_gets_one_line_for_the_scenario() -> None:
    text = H200.format(batch="8").replace("    batch_size: 8   # what fits\n", "")
    new = server(text)
    assert [line for line in new.splitlines() if line not in text.splitlines()] == ["    batch_size: {Server: 64}"]


def test_threads_take_the_same_per_scenario_edit_as_the_batch_size() -> None:
    """explore --apply's edit of `threads:` from one count for every scenario: the explored scenario's count on the
    same line, the others keep theirs; from no `threads:`, the others keep the runtime's default (not 1)."""
    text = H200.format(batch="8").replace("    scenarios:\n", "    threads: 4  # cores\n    scenarios:\n")
    new = set_for_scenario(text, "resnet50", "Server", "threads", 2)
    assert changed(text, new) == [("    threads: 4  # cores", "    threads: {default: 4, Server: 2}  # cores")]
    bench = parse_benchmarks(new)
    assert (bench.threads("Server"), bench.threads("Offline"), bench.batch_size("Server")) == (2, 4, 8)
    assert set_for_scenario(text, "resnet50", "Server", "threads", 4) == text  # already every scenario's count
    absent = set_for_scenario(H200.format(batch="8"), "resnet50", "Server", "threads", 2)
    assert "    threads: {Server: 2}\n" in absent
    assert (parse_benchmarks(absent).threads("Server"), parse_benchmarks(absent).threads("Offline")) == (2, None)


def parse_benchmarks(text: str) -> BenchmarkSettings:
    data = {"name": "x", "submitter": "y", "division": "closed", "system_type": "edge", "image": "cpu",
            "systems_json": {}, **yaml.safe_load(text)}  # fmt: skip
    return parse_system_spec(data, "systems/x.yaml").benchmarks["resnet50"]


def test_what_cannot_be_set_for_one_scenario_in_place_is_refused() -> None:
    nested = "benchmarks:\n  resnet50: {backend: onnxruntime, batch_size: {Offline: 8}}\n"
    with pytest.raises(
        SpecError, match=r"in place: benchmarks\.resnet50 is written as a one-line \{\.\.\.\} mapping"
    ) as error:
        server(nested)
    assert error.value.fix == "set it by hand to 64"
    with pytest.raises(SpecError, match=r"could not set benchmarks\.resnet50\.batch_size in place \(it holds 'x'\)"):
        server(H200.format(batch="x"))


def test_writing_in_place_keeps_the_files_mode(tmp_path: Path) -> None:
    path = tmp_path / "system.yaml"
    path.write_text(FOUR_SPACES)
    path.chmod(0o640)
    write_in_place(path, FOUR_SPACES + "# more\n")
    assert path.read_text().endswith("# more\n") and os.stat(path).st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["system.yaml"]
