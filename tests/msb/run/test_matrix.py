"""The run matrix: which runs a system owes its round, in which order, and what a resumed matrix redoes."""

from __future__ import annotations

import dataclasses

import pytest

from msb.descriptions.rounds import load_round
from msb.descriptions.system import SystemSpec, load_system_spec
from msb.errors import SpecError
from msb.project import Project
from msb.run.matrix import MatrixRun, group_complete, groups, needs_run, plan_matrix
from msb.run.progress import DONE, FAILED, RUNNING


@pytest.fixture
def demo(project: Project) -> SystemSpec:
    return load_system_spec(project, "cpu-demo")


def keys(runs: list[MatrixRun]) -> list[str]:
    return [f"{r.benchmark}/{r.scenario}/{r.kind}" for r in runs]


def test_edge_v51_matrix_is_three_scenarios_each_with_accuracy_performance_and_both_tests(demo: SystemSpec) -> None:
    runs = plan_matrix(demo, load_round("v5.1"))
    assert keys(runs) == [
        f"resnet50/{s}/{k}"
        for s in ("SingleStream", "MultiStream", "Offline")
        for k in ("accuracy", "performance", "TEST01", "TEST04")
    ]
    assert [(r.mode, r.compliance) for r in runs[:4]] == [
        ("accuracy", None),
        ("performance", None),
        ("performance", "TEST01"),
        ("performance", "TEST04"),
    ]


def test_datacenter_v50_matrix_follows_that_round(project: Project) -> None:
    system = load_system_spec(project, "cpu-demo-dc-v50")
    assert keys(plan_matrix(system, load_round("v5.0"))) == [
        f"resnet50/{s}/{k}" for s in ("Server", "Offline") for k in ("accuracy", "performance", "TEST01", "TEST04")
    ]


def test_compliance_tests_per_model_come_from_the_round(demo: SystemSpec) -> None:
    profile = load_round("v5.1")
    retinanet = dataclasses.replace(demo, benchmarks={"retinanet": demo.benchmarks["resnet50"]})
    assert keys(plan_matrix(retinanet, profile, scenario="Offline")) == [
        "retinanet/Offline/accuracy",
        "retinanet/Offline/performance",
        "retinanet/Offline/TEST01",
    ]


def test_slices_by_benchmark_and_scenario(demo: SystemSpec) -> None:
    profile = load_round("v5.1")
    assert {r.scenario for r in plan_matrix(demo, profile, scenario="Offline")} == {"Offline"}
    assert len(plan_matrix(demo, profile, benchmark="resnet50")) == 12
    with pytest.raises(SpecError, match="benchmark 'bert'"):
        plan_matrix(demo, profile, benchmark="bert")
    with pytest.raises(SpecError, match="unknown scenario"):
        plan_matrix(demo, profile, scenario="Offlne")


def test_required_scenario_without_settings_is_named(demo: SystemSpec) -> None:
    bench = demo.benchmarks["resnet50"]
    partial = dataclasses.replace(bench, scenarios={"Offline": bench.scenarios["Offline"]})
    system = dataclasses.replace(demo, benchmarks={"resnet50": partial})
    with pytest.raises(SpecError) as err:
        plan_matrix(system, load_round("v5.1"))
    assert "SingleStream" in err.value.message and "requires it of edge systems" in err.value.message
    assert len(plan_matrix(system, load_round("v5.1"), scenario="Offline")) == 4  # the slice it has runs


@pytest.mark.parametrize(
    ("recorded", "present", "force", "run"),
    [
        (DONE, True, False, False),  # complete: skipped
        (DONE, True, True, True),  # --force redoes it
        (DONE, False, False, True),  # files removed by hand: redone
        (FAILED, True, False, True),  # failed: redone
        (RUNNING, True, False, True),  # interrupted mid-run: redone
        (None, True, False, True),  # files without a record (another tool's): redone
    ],
)
def test_resume_decision(recorded: str | None, present: bool, force: bool, run: bool) -> None:
    assert needs_run(recorded, present, force) is run


def test_groups_and_completion(demo: SystemSpec) -> None:
    runs = plan_matrix(demo, load_round("v5.1"))
    grouped = groups(runs)
    assert [g[0].scenario for g in grouped] == ["SingleStream", "MultiStream", "Offline"]
    states = {r.key: DONE for r in grouped[0]}
    assert group_complete(grouped[0], states)
    states[grouped[0][-1].key] = FAILED
    assert not group_complete(grouped[0], states)
