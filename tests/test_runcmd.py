"""The rendered `docker run` line: what `--print-command` shows and what auditors can type by hand."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

from msb.expdir import Identity
from msb.project import Project
from msb.runcmd import RunRequest, docker_run_argv
from msb.runner import RunArgs, plan
from msb.system_spec import load_system_spec


def request(project: Project, tmp_path: Path, **overrides: object) -> RunRequest:
    system = load_system_spec(project, "cpu-demo")
    args = RunArgs("resnet50", "Offline", "accuracy", tmp_path / "exp", tmp_path / "data", tmp_path / "m" / "r.onnx")
    args = dataclasses.replace(args, **overrides)  # type: ignore[arg-type]
    return plan(system, args, Identity(invoking_uid=1234, container_uid=1234, gid=1500))


def pairs(argv: list[str]) -> list[tuple[str, str]]:
    return list(itertools.pairwise(argv))


def test_runs_as_the_invoking_uid_with_the_fixed_gid(project: Project, tmp_path: Path) -> None:
    argv = docker_run_argv(request(project, tmp_path))
    assert ("--user", "1234:1500") in pairs(argv)
    assert argv[:2] == ["docker", "run"] and "--rm" in argv and "--init" in argv


def test_data_and_model_are_read_only_and_results_writable(project: Project, tmp_path: Path) -> None:
    p = pairs(docker_run_argv(request(project, tmp_path)))
    assert ("-v", f"{tmp_path / 'exp'}:/work/experiment") in p
    assert ("-v", f"{tmp_path / 'data'}:/data/dataset:ro") in p
    assert ("-v", f"{tmp_path / 'm'}:/data/model:ro") in p
    assert ("--model", "/data/model/r.onnx") in p
    assert ("--output", "/work/experiment") in p


def test_run_options_come_from_the_system_description(project: Project, tmp_path: Path) -> None:
    argv = docker_run_argv(request(project, tmp_path))
    p = pairs(argv)
    assert ("--shm-size", "1g") in p
    assert "--gpus" not in argv
    assert ("--target-qps", "15000") in p and ("--batch-size", "8") in p and ("--threads", "2") in p
    info = argv[argv.index("--run-info-json") + 1]
    assert '"shm_size": "1g"' in info and '"user": "1234:1500"' in info


def test_gpus_add_the_device_request(project: Project, tmp_path: Path) -> None:
    p = pairs(docker_run_argv(request(project, tmp_path, gpus="all")))
    assert ("--gpus", "all") in p


def test_image_is_the_systems_image_unless_overridden(project: Project, tmp_path: Path) -> None:
    assert "msb/cpu:latest" in docker_run_argv(request(project, tmp_path))
    assert "msb/cpu:abc" in docker_run_argv(request(project, tmp_path, image="msb/cpu:abc"))


def test_count_reaches_the_harness(project: Project, tmp_path: Path) -> None:
    assert ("--count", "5") in pairs(docker_run_argv(request(project, tmp_path, count=5)))


def test_backend_options_become_repeatable_flags(project: Project, tmp_path: Path) -> None:
    req = request(project, tmp_path)
    settings = dataclasses.replace(req.settings, backend_options={"plugins": ["/p/a.so"], "compile_mode": "max"})
    argv = docker_run_argv(dataclasses.replace(req, settings=settings))
    assert ("--backend-option", "compile_mode=max") in pairs(argv)
    assert ("--backend-option", 'plugins=["/p/a.so"]') in pairs(argv)
