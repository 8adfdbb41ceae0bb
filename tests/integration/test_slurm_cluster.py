"""`build.py run --slurm` against the real test cluster (scripts/setup-slurm.sh, scripts/setup-slurm-nodes.sh: the
host's node `localhost` in `local`, container nodes msb-node1 in `edge` and msb-node2 in `datacenter`) and the real
`cpu` image: a two-system matrix run on two nodes merged into one tree, and the faults a cluster brings (a cancelled
job, a node set down, a node container stopped for real, a time limit, a shared folder the node cannot write), each
shown failed with its reason and completed by the next submission, with no partial unit in the tree and no container
left."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from msb.descriptions.rounds import load_round
from msb.labels import LABEL_EXPERIMENT
from msb.submission.check import check_tree
from tests.integration.test_docker_matrix import COUNT, inputs  # noqa: F401 (the matrix test's synthetic data and system)
from tests.support import REPO

Inputs = tuple[Path, Path, Path]

pytestmark = [pytest.mark.docker, pytest.mark.slurm]


def system(inputs: Inputs, where: Path, name: str, slurm: dict[str, Any], duration_ms: int = 1000) -> Path:  # noqa: F811
    data = yaml.safe_load(inputs[0].read_text())
    data["name"], data["slurm"] = name, slurm
    data["benchmarks"]["resnet50"]["scenarios"]["Offline"]["min_duration_ms"] = duration_ms
    path = where / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def build(*args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "build.py", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, check=False)  # fmt: skip


def submit(inputs: Inputs, experiment: Path, image: str, *systems: Path) -> subprocess.CompletedProcess[str]:  # noqa: F811
    _, dataset, model = inputs
    flags = [arg for path in systems for arg in ("--system", str(path))]
    return build("run", *flags, "--scenario", "Offline", "--dataset", str(dataset), "--model", str(model),
                 "--experiment", str(experiment), "--count", str(COUNT), "--image", image, "--slurm")  # fmt: skip


def wait_until(what: str, check: Callable[[], bool], timeout: float = 240) -> None:
    end = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.5)


def state(experiment: Path, key: str) -> dict[str, Any]:
    path = experiment / ".msb" / "state" / f"{key}.json"
    return dict(json.loads(path.read_text())) if path.is_file() else {}


def jobs_of(submitted: subprocess.CompletedProcess[str]) -> list[str]:
    return [line.split("job ")[1].split(",")[0] for line in submitted.stderr.splitlines() if ": job " in line]


def job_gone(job: str) -> bool:
    return job not in subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True).stdout.split()


def node_state(node: str = "localhost") -> str:
    return subprocess.run(["sinfo", "-h", "-n", node, "-o", "%T"], capture_output=True, text=True).stdout


def containers(experiment: Path) -> list[str]:
    label = f"label={LABEL_EXPERIMENT}={experiment.resolve()}"
    out = subprocess.run(["docker", "ps", "-aq", "--filter", label], capture_output=True, text=True, check=True)
    return out.stdout.split()


def status_row(experiment: Path, key: str) -> str:
    shown = build("status", str(experiment)).stdout
    return next(line for line in shown.splitlines() if line.startswith(f"{key} "))


def tree_files(experiment: Path) -> set[str]:
    return {str(p.relative_to(experiment)) for p in (experiment / "closed").rglob("*") if p.is_file()}


@pytest.fixture
def one(inputs: Inputs, tmp_path: Path) -> Iterator[Path]:  # noqa: F811
    """One system's experiment; afterwards no job of it is left queued."""
    experiment = tmp_path / "exp"
    yield experiment
    subprocess.run(["scancel", "--name=msb-slow-resnet50-Offline"], check=False)


def test_two_systems_on_two_nodes_merge_into_the_tree_a_local_run_makes(
    cluster_nodes: dict[str, str],
    demo_image: str,
    inputs: Inputs,  # noqa: F811 (the fixture imported above)
    tmp_path: Path,
) -> None:
    a = system(inputs, tmp_path, "cpu_a", {"partition": "edge"})
    b = system(inputs, tmp_path, "cpu_b", {"partition": "datacenter", "time": "0:10:00"})
    experiment = tmp_path / "cluster"
    started = time.monotonic()
    first = submit(inputs, experiment, demo_image, a, b)
    assert first.returncode == 0, first.stderr[-3000:]
    jobs = jobs_of(first)
    assert len(jobs) == 2, first.stderr
    again = submit(inputs, experiment, demo_image, a, b)
    assert again.returncode == 2 and f"jobs still queued or running: {', '.join(jobs)}" in again.stderr, again.stderr
    waited = build("status", str(experiment), "--wait", "--poll", "1")
    elapsed = time.monotonic() - started
    assert waited.stdout.count(" done ") == 8 and "8 done, 0 running, 0 pending, 0 failed" in waited.stdout, waited
    assert "error(s)" in waited.stdout  # the checker's verdict follows the table
    partitions = {job: subprocess.run(["scontrol", "-o", "show", "job", job], capture_output=True, text=True).stdout
                  for job in jobs}  # fmt: skip
    assert "Partition=edge" in partitions[jobs[0]] and "Partition=datacenter" in partitions[jobs[1]]
    assert "TimeLimit=00:10:00" in partitions[jobs[1]] and "OverSubscribe=NO" in partitions[jobs[0]]

    states = [state(experiment, p.stem) for p in (experiment / ".msb" / "state").glob("*.json")]
    # The two chains run at once, one per node: the wall time is the longer chain's runs plus the overhead.
    ran = {job: sum(s["seconds"] for s in states if s["job"] == job) for job in jobs}
    longest = max(ran.values())
    print(f"\nslurm overhead: {elapsed:.1f} s wall for two chains of 4 units on two nodes whose runs took "
          f"{' and '.join(f'{r:.1f}' for r in ran.values())} s: {(elapsed - longest) / 4:.1f} s a unit")  # fmt: skip
    assert (elapsed - longest) / 4 <= 10
    manifests = [json.loads(p.read_text()) for p in (experiment / ".msb" / "manifests").rglob("*.json")]
    assert len(manifests) == 8
    nodes = {job: {m["node"] for m in manifests if m["slurm_job_id"] == job} for job in jobs}
    assert nodes == {jobs[0]: {"msb-node1"}, jobs[1]: {"msb-node2"}}, nodes  # each system on its partition's node

    local = tmp_path / "local"
    for path in (a, b):
        _, dataset, model = inputs
        done = build("run", "--system", str(path), "--scenario", "Offline", "--dataset", str(dataset), "--model",
                     str(model), "--experiment", str(local), "--count", str(COUNT), "--image", demo_image)  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
    assert tree_files(experiment) == tree_files(local) and len(tree_files(local)) == 40
    findings = check_tree(experiment, load_round("v5.1"))
    structural = [f for f in findings if "missing" in f.message and "required scenario" not in f.message]
    structural += [f for f in findings if "truncat" in f.message or "not expected here" in f.message]
    assert structural == [], structural
    resubmitted = submit(inputs, experiment, demo_image, a, b)
    assert resubmitted.returncode == 0 and "submitted 0 job(s) for 0 unit(s)" in resubmitted.stderr


FAULTS = ("cancelled", "node-down", "time-limit")


@pytest.mark.parametrize("fault", FAULTS)
def test_a_job_killed_mid_run_leaves_its_unit_failed_with_slurms_reason_and_the_next_submission_completes_it(
    cluster: None,
    demo_image: str,
    inputs: Inputs,  # noqa: F811 (the fixture imported above)
    tmp_path: Path,
    one: Path,
    fault: str,
) -> None:
    slurm = {"time": "1"} if fault == "time-limit" else {}
    slow = system(inputs, tmp_path, "slow", slurm, duration_ms=150_000 if fault == "time-limit" else 30_000)
    first = submit(inputs, one, demo_image, slow)
    assert first.returncode == 0, first.stderr[-3000:]
    (job,) = jobs_of(first)
    key = "slow-resnet50-Offline-performance"
    wait_until("the performance unit to start", lambda: state(one, key).get("state") == "running")
    time.sleep(4)  # its container runs LoadGen now
    assert containers(one)
    try:
        if fault == "cancelled":
            subprocess.run(["scancel", job], check=True)
        elif fault == "node-down":
            subprocess.run(["scontrol", "update", "NodeName=localhost", "State=DOWN", "Reason=test"], check=True)
        wait_until("the job to end", lambda: job_gone(job), timeout=200)
    finally:
        if fault == "node-down":  # the cluster may have returned it to service already (ReturnToService=2)
            subprocess.run(["scontrol", "update", "NodeName=localhost", "State=RESUME"], check=False)
            wait_until("the node to take jobs again", lambda: "idle" in node_state(), timeout=120)
    wait_until("no container left", lambda: not containers(one), timeout=60)
    reason = {"cancelled": "CANCELLED", "node-down": "NODE_FAIL", "time-limit": "TIMEOUT"}[fault]
    row = status_row(one, key)
    assert " failed " in row and reason in row and f"slow-resnet50-Offline.slurm-{job}.log" in row, row
    assert reason in status_row(one, "slow-resnet50-Offline-TEST04")  # never started: the job's end says why
    assert not (one / "closed/MSB/results/slow/resnet50/Offline/performance").exists()  # no partial unit
    assert not [p for p in (one / ".staging").glob("*")] if (one / ".staging").exists() else True
    quick = system(inputs, tmp_path, "slow", {})
    second = submit(inputs, one, demo_image, quick)
    assert second.returncode == 0 and "3 unit(s)" in second.stderr, second.stderr[-3000:]
    waited = build("status", str(one), "--wait", "--poll", "1")
    assert "4 done, 0 running, 0 pending, 0 failed" in waited.stdout, waited.stdout


def test_a_node_container_stopped_mid_run_fails_its_unit_node_fail_and_the_next_submission_completes_it(
    cluster_nodes: dict[str, str],
    demo_image: str,
    inputs: Inputs,  # noqa: F811 (the fixture imported above)
    tmp_path: Path,
    one: Path,
) -> None:
    """A node lost for real: its container stopped (slurmd, the job's build.py and its shell die with it). The job's
    own container runs on the host's engine, out of the node's reach: it ends because its stdin, held by the node's
    build.py, closes (exit_on_stdin_eof), and the engine removes it."""
    node = "msb-node2"
    slow = system(inputs, tmp_path, "slow", {"partition": cluster_nodes[node]}, duration_ms=30_000)
    first = submit(inputs, one, demo_image, slow)
    assert first.returncode == 0, first.stderr[-3000:]
    (job,) = jobs_of(first)
    key = "slow-resnet50-Offline-performance"
    wait_until("the performance unit to start", lambda: state(one, key).get("state") == "running")
    assert state(one, key).get("node") == node
    time.sleep(4)  # its container runs LoadGen now
    assert containers(one)
    stopped, since = time.monotonic(), str(int(time.time()))
    try:
        subprocess.run(["docker", "stop", node], check=True, capture_output=True)
        wait_until("the job's container to end with its node", lambda: not containers(one), timeout=60)
        container_gone = time.monotonic() - stopped
        wait_until("Slurm to notice the node gone and end the job", lambda: job_gone(job), timeout=200)
        job_ended = time.monotonic() - stopped
    finally:
        subprocess.run(["docker", "start", node], check=False, capture_output=True)
        subprocess.run(["scontrol", "update", f"NodeName={node}", "State=RESUME"], check=False, capture_output=True)
        wait_until(f"{node} to take jobs again", lambda: "idle" in node_state(node), timeout=120)
    # The container ended by itself (the harness's stdin closed with the node's build.py): the engine saw it die,
    # and nothing killed it (a removal by another build.py, or `docker kill`, shows as a kill event).
    events = subprocess.run(
        ["docker", "events", "--since", since, "--until", str(int(time.time()) + 1), "--filter",
         f"label={LABEL_EXPERIMENT}={one.resolve()}", "--format", "{{.Action}} {{.Actor.Attributes.exitCode}}"],
        capture_output=True, text=True, check=True,
    ).stdout.split("\n")  # fmt: skip
    assert any(e.startswith("die ") for e in events) and not any(e.startswith("kill") for e in events), events
    print(f"\nnode lost: its job's container gone after {container_gone:.1f} s ({', '.join(filter(None, events))}), "
          f"the job ended after {job_ended:.1f} s")  # fmt: skip
    row = status_row(one, key)
    assert " failed " in row and "NODE_FAIL" in row and f"slow-resnet50-Offline.slurm-{job}.log" in row, row
    assert "NODE_FAIL" in status_row(one, "slow-resnet50-Offline-TEST04")
    assert not (one / "closed/MSB/results/slow/resnet50/Offline/performance").exists()  # no partial unit
    second = submit(inputs, one, demo_image, system(inputs, tmp_path, "slow", {"partition": cluster_nodes[node]}))
    assert second.returncode == 0 and "3 unit(s)" in second.stderr, second.stderr[-3000:]
    waited = build("status", str(one), "--wait", "--poll", "1")
    assert "4 done, 0 running, 0 pending, 0 failed" in waited.stdout, waited.stdout
    assert {json.loads(p.read_text())["node"] for p in (one / ".msb" / "manifests").rglob("*.json")} == {node}


def test_a_shared_folder_the_node_cannot_write_fails_the_chain_with_slurms_word_and_the_next_submission_completes_it(
    cluster: None,
    demo_image: str,
    inputs: Inputs,  # noqa: F811 (the fixture imported above)
    tmp_path: Path,
    one: Path,
) -> None:
    held = system(inputs, tmp_path, "slow", {"sbatch_options": ["--hold"]})
    first = submit(inputs, one, demo_image, held)
    assert first.returncode == 0, first.stderr[-3000:]
    (job,) = jobs_of(first)
    key = "slow-resnet50-Offline-accuracy"
    assert " pending " in status_row(one, key) and "JobHeldUser" in status_row(one, key)
    gave_up = build("status", str(one), "--wait", "--poll", "0.5", "--timeout", "2")
    assert gave_up.returncode == 1 and "0 done, 0 running, 4 pending, 0 failed" in gave_up.stdout
    assert "error(s)" not in gave_up.stdout  # no verdict on a tree still being made
    # The node sees the experiment read-only (as a node whose share is mounted read-only would).
    subprocess.run(["mount", "--bind", str(one), str(one)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(one)], check=True)
        subprocess.run(["scontrol", "release", job], check=True)
        wait_until("the job to end", lambda: job_gone(job), timeout=120)
    finally:
        subprocess.run(["umount", str(one)], check=True)
    assert not containers(one)
    row = status_row(one, key)
    assert " failed " in row and "FAILED" in row and f"{one.resolve()}/.msb/logs is not writable from its node" in row
    assert not (one / "closed").exists()
    second = submit(inputs, one, demo_image, system(inputs, tmp_path, "slow", {}))
    assert second.returncode == 0 and "4 unit(s)" in second.stderr, second.stderr[-3000:]
    waited = build("status", str(one), "--wait", "--poll", "1")
    assert "4 done, 0 running, 0 pending, 0 failed" in waited.stdout, waited.stdout
