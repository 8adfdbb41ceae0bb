"""find-peak's answer written into the system description: only that value changes, comments stay."""

from __future__ import annotations

import json

import pytest
import yaml

from msb.errors import SpecError
from msb.project import Project
from msb.run.find_peak import Peak, read_peak, rewrite_setting

BLOCK = """benchmarks:
  resnet50:
    backend: onnxruntime
    scenarios:
      Offline:
        # measured on the H100 box
        target_qps: 10  # keep this comment
        min_duration_ms: 5
      Server:
      SingleStream: {target_latency_ms: 1.5}
"""


def test_flow_mapping_value_is_replaced_in_place(project: Project) -> None:
    text = (project.systems / "cpu-demo.yaml").read_text()
    new = rewrite_setting(text, "resnet50", "Offline", "target_qps", 1234.5)
    changed = [(a, b) for a, b in zip(text.splitlines(), new.splitlines(), strict=True) if a != b]
    assert changed == [
        (
            "      Offline: {target_qps: 15000, min_duration_ms: 2000, min_query_count: 1}",
            "      Offline: {target_qps: 1234.5, min_duration_ms: 2000, min_query_count: 1}",
        )
    ]


def test_block_value_keeps_its_comment_and_missing_keys_are_added() -> None:
    new = rewrite_setting(BLOCK, "resnet50", "Offline", "target_qps", 20)
    assert "        target_qps: 20  # keep this comment\n" in new and "# measured on the H100 box" in new
    added = yaml.safe_load(rewrite_setting(BLOCK, "resnet50", "Server", "target_qps", 7))
    assert added["benchmarks"]["resnet50"]["scenarios"]["Server"] == {"target_qps": 7}
    flow = yaml.safe_load(rewrite_setting(BLOCK, "resnet50", "SingleStream", "target_latency_ms", 0.8))
    assert flow["benchmarks"]["resnet50"]["scenarios"]["SingleStream"] == {"target_latency_ms": 0.8}


def test_missing_scenario_is_named() -> None:
    with pytest.raises(SpecError, match=r"benchmarks\.resnet50\.scenarios\.MultiStream"):
        rewrite_setting(BLOCK, "resnet50", "MultiStream", "target_latency_ms", 1)


def test_result_json_is_read_and_checked() -> None:
    text = json.dumps({"setting": "target_qps", "value": 812.5, "trials": []})
    assert read_peak(text, "r.json") == Peak("target_qps", 812.5)
    with pytest.raises(SpecError, match="not a find-peak result"):
        read_peak("{}", "r.json")
    with pytest.raises(SpecError, match="unknown setting"):
        read_peak(json.dumps({"setting": "batch", "value": 1}), "r.json")
