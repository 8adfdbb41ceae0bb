"""msb/cluster against the Slurm and engine stand-ins: the sbatch line of a chain, submission (what is written,
what is submitted, what is refused), a node's run of one chain, and what status says of each unit."""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
import socket
from pathlib import Path

import pytest
from rich.console import Console

from msb.cluster import chain as chains
from msb.cluster.jobs import Job
from msb.cluster.node import job_gpus, node_run
from msb.cluster.status import views
from msb.cluster.submit import JobsStillQueued, SubmitInputs, submit
from msb.cluster.unit_status import unit_view
from msb.descriptions.slurm import SlurmOptions
from msb.descriptions.system import SystemSpec, load_system_spec
from msb.errors import GpuUnavailable, MsbError, SpecError
from msb.project import Project
from msb.run.expdir import Identity
from msb.run.state import RunState, read_states, write_state
from tests.support.fake_engine import CRASH, FakeEngine
from tests.support.fake_slurm import FakeSlurm

IDENT = Identity(invoking_uid=1234, container_uid=1234, gid=1500)
DIGEST = "sha256:" + "a" * 64  # as the image's content label states it
KINDS = ("accuracy", "performance", "TEST01", "TEST04")


@pytest.fixture
def demo(project: Project) -> SystemSpec:
    return load_system_spec(project, "cpu-demo")


@pytest.fixture
def inputs(tmp_path: Path) -> SubmitInputs:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "val_map.txt").write_text("a.JPEG 0\n")
    (tmp_path / "model.onnx").write_bytes(b"onnx")
    return SubmitInputs(tmp_path / "exp", tmp_path / "data", tmp_path / "model.onnx", scenario="Offline")


def submitted(project: Project, systems: list[SystemSpec], inputs: SubmitInputs, slurm: FakeSlurm) -> list[str]:
    engine = FakeEngine(inputs.experiment, content=DIGEST)
    done = submit(project, systems, {s.name: IDENT for s in systems}, inputs, engine, slurm, lambda text: None)
    return [s.job or "-" for s in done]


def a_chain(kinds: tuple[str, ...] = KINDS) -> chains.Chain:
    inputs = chains.ChainInputs("/d", "/m.onnx", 8, "msb/cpu:latest", None)
    return chains.Chain("/exp", "sys", "resnet50", "Offline", kinds, ".msb/cluster/systems/sys.yaml", inputs, DIGEST,
                        None, IDENT)  # fmt: skip


def test_the_sbatch_line_carries_the_slurm_block_and_timed_chains_are_exclusive() -> None:
    slurm = SlurmOptions("datacenter", 8, "2:00:00", "mlperf", "h100", ("--qos=high",))
    command = chains.node_command("/py", Path("/msb/build.py"), Path("/exp"), "sys-resnet50-Offline")
    argv = chains.sbatch_argv(a_chain(), slurm, command)
    assert argv == [
        "sbatch", "--parsable", "--job-name=msb-sys-resnet50-Offline",
        "--output=/exp/.msb/logs/sys-resnet50-Offline.slurm-%j.log", "--no-requeue", "--exclusive",
        "--partition=datacenter", "--gres=gpu:8", "--time=2:00:00", "--account=mlperf", "--constraint=h100",
        "--qos=high", "--wrap", "exec /py /msb/build.py node-run /exp sys-resnet50-Offline",
    ]  # fmt: skip
    accuracy_only = chains.sbatch_argv(a_chain(("accuracy",)), None, command)
    assert "--exclusive" not in accuracy_only and not any(a.startswith("--partition") for a in accuracy_only)
    assert shlex.split(accuracy_only[-1])[1:] == command


def test_a_chain_file_reads_back_and_a_foreign_one_is_named() -> None:
    chain = a_chain()
    assert chains.chain_from_json(chains.chain_json(chain), "c.json") == chain
    with pytest.raises(SpecError, match=r"c\.json is not a chain file of schema 1"):
        chains.chain_from_json('{"schema": 9}', "c.json")
    with pytest.raises(SpecError, match=r"c\.json is not a readable chain file"):
        chains.chain_from_json('{"schema": 1, "system": "x"}', "c.json")


def test_submission_writes_one_chain_per_system_and_scenario_and_refuses_a_second_while_queued(
    project: Project, demo: SystemSpec, inputs: SubmitInputs
) -> None:
    other = SystemSpec(**{**demo.__dict__, "name": "cpu_b", "slurm": SlurmOptions(partition="datacenter")})
    slurm = FakeSlurm()
    assert submitted(project, [demo, other], inputs, slurm) == ["100", "101"]
    experiment = inputs.experiment.resolve()
    chain = chains.chain_from_json((experiment / ".msb/cluster/cpu_b-resnet50-Offline.json").read_text(), "c")
    assert chain.kinds == KINDS and chain.image_content_sha256 == DIGEST and chain.identity == IDENT
    assert chain.inputs.image == "msb/cpu-v5.1:latest" and chain.inputs.dataset == str(inputs.dataset.resolve())
    assert (experiment / chain.system_file).read_text() == other.text
    assert "--partition=datacenter" in slurm.submitted[1] and not any("partition" in a for a in slurm.submitted[0])
    assert {s.state for s in read_states(experiment).values()} == {"pending"} and len(read_states(experiment)) == 8
    assert chains.chain_jobs(experiment) == {"cpu_demo-resnet50-Offline": "100", "cpu_b-resnet50-Offline": "101"}
    with pytest.raises(JobsStillQueued, match="jobs still queued or running: 100, 101") as refused:
        submitted(project, [demo, other], inputs, slurm)
    assert "scancel 100 101" in refused.value.fix and len(slurm.submitted) == 2


def test_resubmission_sends_only_chains_with_units_not_done(
    project: Project, demo: SystemSpec, inputs: SubmitInputs
) -> None:
    slurm = FakeSlurm()
    submitted(project, [demo], inputs, slurm)
    experiment = inputs.experiment.resolve()
    engine = FakeEngine(experiment, content=DIGEST)
    node_run(project, experiment, "cpu_demo-resnet50-Offline", engine, {"SLURM_JOB_ID": "100"}, Console(quiet=True))
    slurm.end("100", "COMPLETED")
    assert submitted(project, [demo], inputs, slurm) == ["-"] and len(slurm.submitted) == 1


def test_a_node_runs_its_chain_through_the_matrix_naming_job_and_node_and_holds_the_image_to_its_digest(
    project: Project, demo: SystemSpec, inputs: SubmitInputs
) -> None:
    slurm = FakeSlurm()
    submitted(project, [demo], inputs, slurm)
    experiment = inputs.experiment.resolve()
    name = "cpu_demo-resnet50-Offline"
    other = "sha256:" + "b" * 64
    with pytest.raises(MsbError, match=f"should have content {DIGEST}, found {other}; no archive folder was given"):
        node_run(
            project,
            experiment,
            name,
            FakeEngine(experiment, content=other),
            {"SLURM_JOB_ID": "100"},
            Console(quiet=True),
        )
    refused = read_states(experiment)[f"{name}-accuracy"]
    assert refused.state == "failed" and refused.job == "100" and "content sha256" in (refused.reason or "")
    engine = FakeEngine(experiment, {"resnet50-Offline-TEST04": CRASH}, content=DIGEST)
    outcome = node_run(project, experiment, name, engine, {"SLURM_JOB_ID": "101"}, Console(quiet=True))
    assert engine.started == ["resnet50-Offline-accuracy", "resnet50-Offline-performance", "resnet50-Offline-TEST01",
                              "resnet50-Offline-TEST04"]  # fmt: skip
    assert outcome.failed == [f"{name}-TEST04"]
    states = read_states(experiment)
    accuracy = states[f"{name}-accuracy"]
    assert (accuracy.state, accuracy.job, accuracy.node) == ("done", "101", socket.gethostname()) and accuracy.files
    assert states[f"{name}-TEST04"].state == "failed" and states[f"{name}-TEST04"].reason
    if os.geteuid() == 0:  # the job ran as root: the results still belong to the submitter, group 1500
        placed = (experiment / accuracy.files[0]).stat()
        assert (placed.st_uid, placed.st_gid) == (IDENT.invoking_uid, IDENT.gid)
    manifest = json.loads(next((experiment / ".msb/manifests").rglob("accuracy.json")).read_text())
    assert manifest["slurm_job_id"] == "101" and manifest["node"] == socket.gethostname()
    # What Slurm allocated is what the container gets: never nothing, so a host without a GPU runtime refuses.
    slurm.end("100", "FAILED")
    with pytest.raises(GpuUnavailable, match="--gpus device=2,3 was asked for"):
        node_run(project, experiment, name, engine, {"SLURM_JOB_ID": "102", "CUDA_VISIBLE_DEVICES": "2,3"},
                 Console(quiet=True))  # fmt: skip
    assert "no NVIDIA runtime" in (read_states(experiment)[f"{name}-TEST04"].reason or "")


def test_status_says_why_each_unit_is_not_done(project: Project, demo: SystemSpec, inputs: SubmitInputs) -> None:
    slurm = FakeSlurm()
    submitted(project, [demo], inputs, slurm)
    experiment = inputs.experiment.resolve()
    name = "cpu_demo-resnet50-Offline"
    first = views(experiment, slurm)[0]
    assert (first.state, first.job, first.note) == ("pending", "100", "job 100 pending (Priority)")

    write_state(experiment, f"{name}-accuracy", RunState("done", ("x",), job="100", node="n1"))
    write_state(experiment, f"{name}-performance", RunState("running", job="100", node="n1"))
    slurm.live["100"] = Job("100", "RUNNING", "n1")
    shown = {v.key.rsplit("-", 1)[1]: v for v in views(experiment, slurm)}
    assert (shown["accuracy"].state, shown["performance"].state, shown["TEST01"].state) == (
        "done",
        "running",
        "pending",
    )
    assert shown["performance"].node == "n1"
    slurm.end("100", "TIMEOUT", "TimeLimit", "0:15")
    (experiment / ".msb/logs/cpu_demo-resnet50-Offline.slurm-100.log").write_text("")
    shown = {v.key.rsplit("-", 1)[1]: v for v in views(experiment, slurm)}
    assert shown["performance"].state == shown["TEST04"].state == "failed"
    assert shown["TEST04"].note == f"TIMEOUT (TimeLimit), exit 0:15; log: .msb/logs/{name}.slurm-100.log"
    assert shown["accuracy"].state == "done"


def test_a_unit_whose_job_sbatch_did_not_take_says_so() -> None:
    view = unit_view(Path("/exp"), "c", "c-accuracy", RunState("pending"), None, {}, {})
    assert (view.state, view.note) == ("pending", "not submitted (sbatch did not take its job)")


def test_a_unit_the_job_recorded_failed_keeps_its_reason_after_slurms() -> None:
    state = RunState("failed", job="7", node="n1", reason="run x interrupted (SIGTERM)")
    view = unit_view(Path("/exp"), "c", "c-performance", state, None, {}, {"7": None})
    assert view.state == "failed" and "Slurm no longer knows it" in view.note and "SIGTERM" in view.note


def test_a_system_asking_for_gpus_in_a_job_slurm_gave_none_is_refused_not_given_the_nodes(demo: SystemSpec) -> None:
    wants_gpus = dataclasses.replace(demo, run=dataclasses.replace(demo.run, gpus="all"))
    with pytest.raises(GpuUnavailable, match=r"asks for GPUs \(all\) but Slurm allocated none to job 100"):
        job_gpus(wants_gpus, None, {"SLURM_JOB_ID": "100"}, "100")
    assert job_gpus(wants_gpus, None, {"SLURM_JOB_GPUS": "1"}, "100") == "device=1"
    assert job_gpus(demo, None, {}, "100") is None
