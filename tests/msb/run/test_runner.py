"""Checks made before a run starts: inputs, the image's backends, GPUs. The engine here is a stand-in that answers
what a daemon would; the real daemon is exercised in tests/integration/test_docker_integration.py."""

from __future__ import annotations

import dataclasses
import itertools
import json
from pathlib import Path

import pytest

from harness.contract import spec_from_json, to_json
from msb.container import docker_run_argv
from msb.descriptions.system import load_system_spec
from msb.engine import EngineInfo, _device_requests, _ulimit
from msb.errors import GpuUnavailable, SpecError
from msb.labels import LABEL_BACKENDS, LABEL_EXPERIMENT, LABEL_HOST_PID, LABEL_ROUND
from msb.project import Project
from msb.run.expdir import Identity
from msb.run.runner import RunArgs, RunPlan, check_engine, check_inputs, command_line, plan, systems_json

IDENT = Identity(invoking_uid=0, container_uid=15000, gid=1500)


class AnsweringEngine:
    """Stand-in for the daemon's answers to inspect and info (no builds, no runs)."""

    def __init__(self, backends: str, runtimes: tuple[str, ...] = ("runc",)) -> None:
        self.labels = {LABEL_BACKENDS: backends}
        self.runtimes = runtimes

    def image_labels(self, ref: str) -> dict[str, str]:
        return self.labels

    def info(self) -> EngineInfo:
        return EngineInfo("20.10", self.runtimes)


def args(tmp_path: Path, **kw: object) -> RunArgs:
    base = {"benchmark": "resnet50", "scenario": "Offline", "mode": "accuracy", "experiment": tmp_path / "e",
            "dataset": tmp_path / "d", "model": tmp_path / "m.onnx"}  # fmt: skip
    base.update(kw)
    return RunArgs(**base)  # type: ignore[arg-type]


def test_gpus_without_an_nvidia_runtime_fail_instead_of_running_on_cpu(project: Project, tmp_path: Path) -> None:
    req = plan(load_system_spec(project, "cpu-demo"), args(tmp_path, gpus="all"), IDENT)
    with pytest.raises(GpuUnavailable) as err:
        check_engine(req, AnsweringEngine("onnxruntime"))  # type: ignore[arg-type]
    assert "NVIDIA" in err.value.message
    check_engine(req, AnsweringEngine("onnxruntime", ("nvidia", "runc")))  # type: ignore[arg-type]


def test_backend_the_image_does_not_carry_is_refused(project: Project, tmp_path: Path) -> None:
    req = plan(load_system_spec(project, "cpu-demo"), args(tmp_path), IDENT)
    with pytest.raises(SpecError) as err:
        check_engine(req, AnsweringEngine("tensorrt"))  # type: ignore[arg-type]
    assert "onnxruntime" in err.value.message and "tensorrt" in err.value.message


def test_missing_or_empty_dataset_and_missing_model_are_named(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="does not exist"):
        check_inputs(args(tmp_path))
    (tmp_path / "d").mkdir()
    with pytest.raises(SpecError, match="is empty"):
        check_inputs(args(tmp_path))
    (tmp_path / "d" / "val_map.txt").write_text("")
    with pytest.raises(SpecError, match=r"m\.onnx"):
        check_inputs(args(tmp_path))
    with pytest.raises(SpecError, match="unknown mode"):
        check_inputs(args(tmp_path, mode="acc"))


def test_systems_json_repeats_the_identity_fields(project: Project) -> None:
    data = systems_json(load_system_spec(project, "cpu-demo"))
    assert data["system_name"] == "cpu_demo" and data["division"] == "closed" and data["system_type"] == "edge"


def test_image_of_another_round_is_refused(project: Project, tmp_path: Path) -> None:
    req = plan(load_system_spec(project, "cpu-demo-dc-v50"), args(tmp_path), IDENT)
    engine = AnsweringEngine("onnxruntime")
    engine.labels[LABEL_ROUND] = "v5.1"
    with pytest.raises(SpecError) as err:
        check_engine(req, engine)  # type: ignore[arg-type]
    assert "round v5.1" in err.value.message and "cpu-v5.0" in err.value.fix
    engine.labels[LABEL_ROUND] = "v5.0"
    check_engine(req, engine)  # type: ignore[arg-type]


def planned(project: Project, tmp_path: Path, system: str = "cpu-demo", **overrides: object) -> RunPlan:
    spec = load_system_spec(project, system)
    args = RunArgs("resnet50", "Offline", "accuracy", tmp_path / "exp", tmp_path / "data", tmp_path / "m" / "r.onnx")
    args = dataclasses.replace(args, **overrides)  # type: ignore[arg-type]
    return plan(spec, args, Identity(invoking_uid=1234, container_uid=1234, gid=1500))


def pairs(argv: list[str]) -> list[tuple[str, str]]:
    return list(itertools.pairwise(argv))


def test_runs_as_the_invoking_uid_with_the_fixed_gid(project: Project, tmp_path: Path) -> None:
    argv = docker_run_argv(planned(project, tmp_path).container)
    assert ("--user", "1234:1500") in pairs(argv)
    assert argv[:2] == ["docker", "run"] and "--rm" in argv and "--init" in argv and "--interactive" in argv


def test_data_and_model_are_read_only_and_results_writable(project: Project, tmp_path: Path) -> None:
    run = planned(project, tmp_path)
    p = pairs(docker_run_argv(run.container))
    assert ("-v", f"{tmp_path / 'exp'}:/work/experiment:rw") in p
    assert ("-v", f"{tmp_path / 'data'}:/data/dataset:ro") in p
    assert ("-v", f"{tmp_path / 'm'}:/data/model:ro") in p
    assert run.spec.model == "/data/model/r.onnx" and run.spec.output == "/work/experiment"


def test_the_harness_runs_from_the_spec_in_the_run_folder(project: Project, tmp_path: Path) -> None:
    run = planned(project, tmp_path)
    assert run.container.command == ("run", "--spec", f"/work/experiment/.msb/runs/{run.run_id}/spec.json")
    assert run.run_dir == tmp_path / "exp" / ".msb" / "runs" / run.run_id
    # The harness stops when build.py goes away, and the container says whose it is.
    assert run.spec.exit_on_stdin_eof and not run.spec.allow_root
    assert run.container.labels[LABEL_EXPERIMENT] == str(tmp_path / "exp")
    assert run.container.labels[LABEL_HOST_PID].isdigit()


def test_the_spec_carries_the_system_description(project: Project, tmp_path: Path) -> None:
    spec = planned(project, tmp_path).spec
    assert (spec.division, spec.submitter, spec.system, spec.round) == ("closed", "MSB", "cpu_demo", "v5.1")
    assert spec.backend.batch_size == 8 and spec.backend.threads == 2 and spec.backend.name == "onnxruntime"
    assert spec.loadgen.target_qps == 15000 and spec.loadgen.min_duration_ms == 2000
    assert isinstance(spec.loadgen.min_duration_ms, int)
    assert spec.system_json is not None and spec.system_json["system_name"] == "cpu_demo"
    assert spec.run_info is not None and spec.run_info["user"] == "1234:1500" and spec.run_info["shm_size"] == "1g"
    assert spec_from_json(to_json(spec)) == spec  # what the harness reads is what the host meant


def test_an_open_division_system_asks_for_open(project: Project, tmp_path: Path) -> None:
    system = dataclasses.replace(load_system_spec(project, "cpu-demo"), division="open")
    args = RunArgs("resnet50", "Offline", "accuracy", tmp_path / "exp", tmp_path / "d", tmp_path / "m.onnx")
    assert plan(system, args, Identity(0, 15000, 1500)).spec.division == "open"


def test_compliance_runs_carry_the_audit_config_text(project: Project, tmp_path: Path) -> None:
    run = planned(project, tmp_path, mode="performance", compliance="TEST04", audit_config="performance_issue_same=1")
    assert run.spec.compliance is not None
    assert (run.spec.compliance.test, run.spec.compliance.audit_config) == ("TEST04", "performance_issue_same=1")


def test_gpus_add_the_device_request(project: Project, tmp_path: Path) -> None:
    run = planned(project, tmp_path, gpus="all")
    assert ("--gpus", "all") in pairs(docker_run_argv(run.container))
    assert _device_requests("all")[0]["Count"] == -1
    assert _device_requests("2")[0]["Count"] == 2
    assert _device_requests("device=0,1")[0]["DeviceIDs"] == ["0", "1"]
    assert _device_requests(None) == []
    with pytest.raises(SpecError, match="not a GPU request"):
        planned(project, tmp_path, gpus="0;rm -rf")


def test_ulimits_keep_soft_and_hard() -> None:
    assert (_ulimit("memlock", "-1")["Soft"], _ulimit("memlock", "-1")["Hard"]) == (-1, -1)
    assert (_ulimit("nofile", "1024:4096")["Soft"], _ulimit("nofile", "1024:4096")["Hard"]) == (1024, 4096)


def test_image_is_the_systems_image_unless_overridden(project: Project, tmp_path: Path) -> None:
    assert planned(project, tmp_path).container.image == "msb/cpu-v5.1:latest"
    assert planned(project, tmp_path, image="msb/cpu:abc").container.image == "msb/cpu:abc"


def test_count_reaches_the_harness(project: Project, tmp_path: Path) -> None:
    assert planned(project, tmp_path, count=5).spec.count == 5


def test_backend_options_reach_the_harness_with_their_types(project: Project, tmp_path: Path) -> None:
    system = load_system_spec(project, "cpu-demo")
    bench = dataclasses.replace(system.benchmarks["resnet50"], backend_options={"plugins": ["/p/a.so"], "n": 3})
    system = dataclasses.replace(system, benchmarks={"resnet50": bench})
    args = RunArgs("resnet50", "Offline", "accuracy", tmp_path / "exp", tmp_path / "d", tmp_path / "m.onnx")
    spec = plan(system, args, Identity(0, 15000, 1500)).spec
    assert spec_from_json(to_json(spec)).backend.options == {"plugins": ["/p/a.so"], "n": 3}


def test_benchmark_options_reach_the_harness_from_the_system_description(project: Project, tmp_path: Path) -> None:
    system = load_system_spec(project, "cpu-demo-v61")
    assert system.benchmarks["yolo-99"].benchmark_options == {"padding": "square"}
    bench = dataclasses.replace(system.benchmarks["yolo-99"], benchmark_options={"padding": "minimal"})
    system = dataclasses.replace(system, benchmarks={"yolo-99": bench})
    args = RunArgs("yolo-99", "SingleStream", "accuracy", tmp_path / "exp", tmp_path / "d", tmp_path / "m.onnx")
    spec = plan(system, args, Identity(0, 15000, 1500)).spec
    assert spec_from_json(to_json(spec)).benchmark_options == {"padding": "minimal"}


def test_print_command_shows_the_spec_and_the_docker_line(project: Project, tmp_path: Path) -> None:
    text = command_line(planned(project, tmp_path))
    comment, _, rest = text.partition("\n")
    spec_text, _, docker_line = rest.rpartition("}\n")
    assert comment.startswith("# ") and comment.endswith("spec.json:")
    assert json.loads(spec_text + "}")["benchmark"] == "resnet50"
    assert docker_line.startswith("docker run --rm --init")


def test_the_spec_carries_the_rounds_seeds(project: Project, tmp_path: Path) -> None:
    assert planned(project, tmp_path).spec.seeds == {
        "qsl_rng_seed": 1780908523862526354,
        "sample_index_rng_seed": 14771362308971278857,
        "schedule_rng_seed": 18209322760996052031,
    }


def test_each_scenario_runs_with_its_own_batch_size(project: Project, tmp_path: Path) -> None:
    """One description, `batch_size: {default: 8, Server: 64}`: a Server run asks for 64, the others for 8."""
    text = (project.systems / "cpu-demo-dc-v50.yaml").read_text()
    assert text.count("    batch_size: 8\n") == 1
    path = tmp_path / "h200.yaml"
    path.write_text(text.replace("    batch_size: 8\n", "    batch_size: {default: 8, Server: 64}\n"))

    def sizes(system: str) -> dict[str, int]:
        scenarios = ("Server", "Offline")
        return {s: planned(project, tmp_path, system, scenario=s).spec.backend.batch_size for s in scenarios}

    assert sizes(str(path)) == {"Server": 64, "Offline": 8}
    assert sizes("cpu-demo-dc-v50") == {"Server": 8, "Offline": 8}  # one size for every scenario, as before


def test_each_scenario_runs_with_its_own_threads(project: Project, tmp_path: Path) -> None:
    """`threads: {Offline: 16, Server: 4}`: a Server run asks for 4, an Offline run for 16; with
    `threads: {Offline: 16}` a Server run leaves them to the runtime (None)."""
    text = (project.systems / "cpu-demo-dc-v50.yaml").read_text()
    assert text.count("    threads: 2\n") == 1

    def threads(written: str) -> dict[str, int | None]:
        path = tmp_path / "h200.yaml"
        path.write_text(text.replace("    threads: 2\n", f"    threads: {written}\n"))
        scenarios = ("Server", "Offline")
        return {s: planned(project, tmp_path, str(path), scenario=s).spec.backend.threads for s in scenarios}

    assert threads("{Offline: 16, Server: 4}") == {"Server": 4, "Offline": 16}
    assert threads("{Offline: 16}") == {"Server": None, "Offline": 16}
    assert threads("{default: 3, Server: 4}") == {"Server": 4, "Offline": 3}
    assert threads("2") == {"Server": 2, "Offline": 2}  # one count for every scenario, as before
