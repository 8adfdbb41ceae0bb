"""Comparing a re-run with the result it reproduces (msb/run/compare.py, pure)."""

from __future__ import annotations

import json

from harness.contract import to_json
from msb.run.compare import (
    DEFAULT_LATENCY_TOLERANCE_PCT,
    DEFAULT_TOLERANCE_PCT,
    Comparison,
    accuracy_checks,
    default_tolerance,
    performance_checks,
    seeds_check,
    settings_check,
)
from msb.run.reproduce import recorded_settings
from tests.harness.test_contract import SPEC

LOG = [{"seq_id": 0, "qsl_idx": 1, "data": "AA"}, {"seq_id": 1, "qsl_idx": 0, "data": "BB"}]


def test_accuracy_must_match_exactly_record_by_record_in_any_order() -> None:
    same = accuracy_checks("accuracy=100.000%", "accuracy=100.000%", LOG, list(reversed(LOG)))
    assert all(check.ok for check in same)
    changed = [dict(LOG[0]), {**LOG[1], "data": "BC"}]
    checks = accuracy_checks("accuracy=100.000%", "accuracy=100.000%", LOG, changed)
    assert [check.ok for check in checks] == [True, False] and checks[1].note == "1 record(s) differ"
    assert not accuracy_checks("accuracy=100.000%", "accuracy=99.000%", LOG, LOG)[0].ok
    assert not accuracy_checks("a", "a", None, LOG)[1].ok  # the original full log is gone: nothing proves it


def test_performance_within_the_tolerance_and_with_the_same_validity() -> None:
    assert all(c.ok for c in performance_checks("Samples per second", 100.0, 89.0, "VALID", "VALID", 15.0))
    slower = performance_checks("Samples per second", 100.0, 80.0, "VALID", "VALID", 15.0)
    assert not slower[1].ok and slower[1].note == "-20.0% (tolerance ±15%)"
    assert not performance_checks("Samples per second", 100.0, 100.0, "VALID", "INVALID", 15.0)[0].ok
    assert not performance_checks("Samples per second", 100.0, None, "VALID", "VALID", 15.0)[1].ok


def test_settings_and_seeds() -> None:
    spec = {"benchmark": "resnet50", "backend": {"batch_size": 8}, "run_info": {"image": "a"}}
    assert settings_check(spec, {**spec, "run_info": {"image": "b"}}).ok  # how it was started is not a setting
    changed = settings_check(spec, {**spec, "backend": {"batch_size": 4}})
    assert not changed.ok and changed.note == "backend"
    seeds = {"seeds": {"qsl_rng_seed": 1}}
    assert seeds_check(seeds, seeds).ok and not seeds_check(seeds, {"seeds": {"qsl_rng_seed": 2}}).ok
    assert not seeds_check({}, {}).ok  # no seeds recorded proves nothing


def test_the_first_difference_leads_the_report() -> None:
    checks = (*performance_checks("Samples per second", 100.0, 10.0, "VALID", "VALID", 15.0),)
    comparison = Comparison("closed/x", checks, 15.0)
    assert not comparison.reproduced and comparison.first_difference is checks[1]
    assert "DIFFERS: Samples per second: 100.00 -> 10.00" in comparison.as_markdown()
    assert '"reproduced": false' in comparison.as_json()


def test_default_tolerances_follow_the_measured_noise_of_each_kind_of_figure() -> None:
    assert default_tolerance("Samples per second") == DEFAULT_TOLERANCE_PCT == 15.0
    assert default_tolerance("90.0th percentile latency (ns)") == DEFAULT_LATENCY_TOLERANCE_PCT == 60.0


def test_a_manifest_from_before_benchmark_options_compares_equal_to_a_run_without_them() -> None:
    """Fields the contract gained since a manifest was written count at their defaults, not as differences."""
    new = json.loads(to_json(SPEC))
    old = {k: v for k, v in new.items() if k != "benchmark_options"}
    assert not settings_check(old, new).ok  # compared as written, the missing field would differ
    assert settings_check(recorded_settings(old), new).ok
    chosen = {**new, "benchmark_options": {"padding": "minimal"}}
    assert settings_check(recorded_settings(old), chosen).note == "benchmark_options"
