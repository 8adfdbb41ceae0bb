"""Bad inputs are errors naming the file, the field and the fix, with exit 2 and no traceback, and write nothing
outside the experiment (no stray .tmp file either)."""

from __future__ import annotations

import errno
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from msb.cli import main
from msb.descriptions.image import load_image_spec
from msb.descriptions.lockfile import read_lock
from msb.descriptions.rounds import load_round
from msb.errors import ExperimentDirError, SpecError
from msb.project import Project
from msb.run import expdir
from msb.run.expdir import Identity
from tests.support import REPO
from tests.support.submission_tree import build_tree

Edit = Callable[[dict[str, Any]], None]
W1 = "expected a whole number of 1 or more, "


@pytest.fixture
def proj(tmp_path: Path) -> Iterator[Project]:
    """A copy of the project's data folders; afterwards nothing new beside tmp_path or in the repo, no .tmp file."""
    root = tmp_path / "proj"
    for name in ("systems", "images", "rounds"):
        shutil.copytree(REPO / name, root / name)
    before = (set(tmp_path.parent.iterdir()), set(REPO.iterdir()))
    yield Project(root)
    assert (set(tmp_path.parent.iterdir()), set(REPO.iterdir())) == before
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]


def fails(capsys: pytest.CaptureFixture[str], argv: list[str], project: Project, *words: str) -> str:
    """Run the CLI, expect exit 2 and an `error:`/`fix:` message holding each of `words`."""
    code = main(argv, project)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error: ") and "\n  fix: " in err and "Traceback" not in err
    for word in words:
        assert word in err, err
    return err


def run_argv(system: str, tmp_path: Path) -> list[str]:
    return [
        "run",
        *("--system", system, "--benchmark", "resnet50", "--scenario", "Offline", "--mode", "accuracy"),
        *("--dataset", str(tmp_path / "data"), "--model", str(tmp_path / "m.onnx")),
        *("--experiment", str(tmp_path / "exp")),
    ]


def write_system(proj: Project, edit: Edit) -> Path:
    data = yaml.safe_load((proj.systems / "cpu-demo.yaml").read_text())
    edit(data)
    path = proj.systems / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


# 1. Files that are not UTF-8 text, binary, or not readable files.


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"name: caf\xe9\n", ("is not UTF-8 text", "save the file as UTF-8")),
        (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", ("is a binary file",)),
    ],
)
def test_system_yaml_that_is_not_utf8_text(
    proj: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, words: tuple[str, ...]
) -> None:
    path = proj.systems / "bad.yaml"
    path.write_bytes(content)
    fails(capsys, run_argv("bad", tmp_path), proj, "system description", str(path), *words)


def test_system_yaml_that_is_a_directory(proj: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (proj.systems / "bad.yaml").mkdir()
    fails(capsys, run_argv("bad", tmp_path), proj, str(proj.systems / "bad.yaml"), "is a directory")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_system_yaml(proj: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = proj.systems / "cpu-demo.yaml"
    path.chmod(0)
    fails(capsys, run_argv("cpu-demo", tmp_path), proj, str(path), "permission denied", "chmod a+r")


def test_image_definition_round_and_lock_that_are_not_utf8(proj: Project, capsys: pytest.CaptureFixture[str]) -> None:
    lock = proj.images / "cpu.lock"
    lock.write_bytes(b"numpy==1.0 \xff\n")
    with pytest.raises(SpecError, match=re.escape(f"lock file {lock} is not UTF-8 text")):
        read_lock(load_image_spec(proj, "cpu"))
    (proj.rounds / "v5.1.yaml").write_bytes(b"round: v5.1\0\n")
    with pytest.raises(SpecError, match=re.escape(f"round profile {proj.rounds / 'v5.1.yaml'} is a binary file")):
        load_round("v5.1", proj.rounds)
    (proj.images / "cpu.yaml").write_bytes(b"name: \xc3\x28\n")
    fails(capsys, ["lock", "cpu"], proj, "image definition", str(proj.images / "cpu.yaml"), "not UTF-8")


# 2. Values of the wrong type in a system description.


def bench(data: dict[str, Any]) -> dict[str, Any]:
    return data["benchmarks"]["resnet50"]


WRONG_TYPES: list[tuple[Edit, str, str]] = [
    (lambda d: d["run"].update(uid_when_root="nobody"), "run.uid_when_root", "expected a whole number of 0 or more"),
    (lambda d: bench(d)["scenarios"].update(Offline=5), "benchmarks.resnet50.scenarios.Offline", "expected a mapping"),
    (lambda d: bench(d).update(batch_size="eight"), "benchmarks.resnet50.batch_size", W1 + "got 'eight'"),
    (lambda d: bench(d).update(batch_size=True), "benchmarks.resnet50.batch_size", W1 + "got true"),
    (lambda d: bench(d).update(batch_size=-2), "benchmarks.resnet50.batch_size", W1 + "got -2"),
    (lambda d: bench(d).update(batch_size=0), "benchmarks.resnet50.batch_size", W1 + "got 0"),
    (lambda d: bench(d).update(threads="x"), "benchmarks.resnet50.threads", W1 + "got 'x'"),
    (lambda d: bench(d).update(backend_options=[1]), "benchmarks.resnet50.backend_options", "expected a mapping"),
    (lambda d: bench(d).update(benchmark_options="minimal"), "benchmarks.resnet50.benchmark_options", "expected a"),
    (lambda d: d.update(systems_json=3), "systems_json", "expected a mapping (KEY: VALUE lines), got 3"),
    (lambda d: d.update(benchmarks=[]), "benchmarks", "expected a mapping (KEY: VALUE lines), got a list []"),
    (
        lambda d: bench(d)["scenarios"]["Offline"].update(target_qps="fast"),
        "benchmarks.resnet50.scenarios.Offline.target_qps",
        "expected a number above 0, got 'fast'",
    ),
    (
        lambda d: bench(d)["scenarios"]["Offline"].update(min_query_count=False),
        "benchmarks.resnet50.scenarios.Offline.min_query_count",
        W1 + "got false",
    ),
]


@pytest.mark.parametrize(("edit", "field", "expected"), WRONG_TYPES, ids=[f for _, f, _ in WRONG_TYPES])
def test_wrong_type_names_file_field_and_type(
    proj: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str], edit: Edit, field: str, expected: str
) -> None:
    path = write_system(proj, edit)
    fails(capsys, run_argv("bad", tmp_path), proj, f"{path} {field}: {expected}")


BATCH_FORMS = "fix: give one size for every scenario (batch_size: 8) or one per scenario (batch_size: {Offline: 256"
BAD_BATCH_SIZES: list[tuple[object, str, str]] = [
    ({"Ofline": 8}, "batch_size: 'Ofline' is not a scenario (did you mean Offline?)", "fix: use SingleStream, "),
    ({"Server": 64, "all": 8}, "batch_size: 'all' is not a scenario", "or default for the scenarios not listed"),
    ({"Server": 0}, "batch_size.Server: expected a whole number of 1 or more, got 0", "e.g. Server: 1"),
    ({"Offline": "256"}, "batch_size.Offline: expected a whole number of 1 or more, got '256'", "without quotes"),
    ({}, "batch_size: a mapping with no batch size in it, got a mapping {}", BATCH_FORMS),
    ({"Offline": None}, "batch_size: a mapping with no batch size in it", BATCH_FORMS),
    ([8, 64], "batch_size: expected a whole number of 1 or more, got a list [8, 64]", BATCH_FORMS),
]


THREADS_FORMS = "fix: give one count for every scenario (threads: 4) or one per scenario (threads: {Offline: 16"
BAD_THREADS: list[tuple[object, str, str]] = [
    ({"Sever": 4}, "threads: 'Sever' is not a scenario (did you mean Server?)", "fix: use SingleStream, "),
    ({"Offline": 0}, "threads.Offline: expected a whole number of 1 or more, got 0", "e.g. Offline: 1"),
    ({"Server": -4}, "threads.Server: expected a whole number of 1 or more, got -4", "e.g. Server: 1"),
    ({"Server": 2.5}, "threads.Server: expected a whole number of 1 or more, got 2.5", "fix:"),
    ({"default": True}, "threads.default: expected a whole number of 1 or more, got true", "fix:"),
    ({}, "threads: a mapping with no thread count in it, got a mapping {}", THREADS_FORMS),
    (0, "threads: expected a whole number of 1 or more, got 0", THREADS_FORMS),
    ("all", "threads: expected a whole number of 1 or more, got 'all'", "leave it out for the runtime's default"),
    ([4, 2], "threads: expected a whole number of 1 or more, got a list [4, 2]", THREADS_FORMS),
]


# Both per-scenario settings share one parser: each bad value is tried under its own key.
BAD_PER_SCENARIO = [("batch_size", *case) for case in BAD_BATCH_SIZES] + [("threads", *case) for case in BAD_THREADS]


@pytest.mark.parametrize(("key", "value", "problem", "fix"), BAD_PER_SCENARIO, ids=[p for *_, p, _ in BAD_PER_SCENARIO])
def test_bad_per_scenario_settings_name_file_benchmark_key_and_fix(
    proj: Project,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    key: str,
    value: object,
    problem: str,
    fix: str,
) -> None:
    path = write_system(proj, lambda d: bench(d).update({key: value}))
    fails(capsys, run_argv("bad", tmp_path), proj, f"{path} benchmarks.resnet50.{problem}", fix)
    assert not (tmp_path / "exp").exists()


# 3. Names that would become paths outside the experiment.


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda d: d.update(name="../../evil"), "name"),
        (lambda d: d.update(submitter="a/b"), "submitter"),
        (lambda d: d.update(image="../cpu"), "image"),
        (lambda d: d["benchmarks"].update({"..x": d["benchmarks"].pop("resnet50")}), "benchmarks...x"),
    ],
)
def test_system_names_follow_the_name_rule(
    proj: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str], edit: Edit, field: str
) -> None:
    path = write_system(proj, edit)
    fails(capsys, run_argv("bad", tmp_path), proj, f"{path} {field}: ", "is not a valid name", "fix: use letters")
    assert not (tmp_path / "exp").exists()


def test_image_definition_name_follows_the_name_rule(proj: Project, capsys: pytest.CaptureFixture[str]) -> None:
    path = proj.images / "cpu.yaml"
    path.write_text(path.read_text().replace("name: cpu", "name: .cpu", 1))
    fails(capsys, ["lock", "cpu"], proj, f"{path} name: '.cpu' is not a valid name")


def test_command_line_names_that_are_not_names(
    proj: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fails(capsys, run_argv("../cpu-demo", tmp_path), proj, "system '../cpu-demo' is neither a system name")
    fails(capsys, ["image", "../cpu", "--dry-run"], proj, "image '../cpu' is not a valid image name")


# 4. submission pack.


def test_pack_force_on_a_missing_folder(proj: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope"
    fails(capsys, ["submission", "pack", str(missing), "--force"], proj, f"submission directory {missing}")


def test_pack_out_on_a_directory(proj: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tree = build_tree(tmp_path / "tree", tmp_path / "backup")
    out = tmp_path / "out.tar.gz"
    out.mkdir()
    fails(capsys, ["submission", "pack", str(tree), "--out", str(out), "--force"], proj, f"output {out}", "directory")
    assert list(tmp_path.glob("*tmp*")) == []


# 5. The experiment folder on a read-only file system.


def read_only(*args: object, **kwargs: object) -> None:
    raise OSError(errno.EROFS, os.strerror(errno.EROFS))


@pytest.mark.parametrize("call", [expdir.share_with_group, expdir.hand_back])
def test_read_only_experiment_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, call: Callable[[Path, Identity], object]
) -> None:
    (tmp_path / "exp" / "closed").mkdir(parents=True)
    (tmp_path / "exp" / "closed" / "f").write_text("x")
    for name in ("chown", "lchown", "chmod"):
        monkeypatch.setattr(os, name, read_only)
    monkeypatch.setattr(os, "lstat", lambda p: os.stat_result((0, 0, 0, 0, 2000, 0, 0, 0, 0, 0)))
    with pytest.raises(ExperimentDirError) as err:
        call(tmp_path / "exp", Identity(invoking_uid=1000, container_uid=2000, gid=1500))
    assert str(tmp_path / "exp") in err.value.message and "Read-only file system" in err.value.message
    assert "read-only" in err.value.fix


# 6. One convention for the submission tools and datasets.


def test_submission_and_datasets_report_bad_input_with_exit_2(
    proj: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fails(capsys, ["submission", "check", str(tmp_path / "nope")], proj, "does not exist")
    fails(capsys, ["submission", "check", str(tmp_path), "--round", "v9"], proj, "unknown MLPerf round 'v9'")
    fails(capsys, ["submission", "truncate", str(tmp_path / "nope"), "--backup", str(tmp_path / "b")], proj, "nope")
    fails(capsys, ["datasets", "fetch", "no-such", "--dest", str(tmp_path / "d")], proj, "unknown download")
    for argv in (["submission", "check"], ["submission", "pack", "--bogus"], ["datasets", "fetch"]):
        with pytest.raises(SystemExit) as exit_:
            main(argv, proj)
        assert exit_.value.code == 2 and "usage:" in capsys.readouterr().err


def test_failed_check_exits_1_on_stderr_for_pack(
    proj: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = tmp_path / "tree"
    (tree / "closed" / "org").mkdir(parents=True)
    assert main(["submission", "pack", str(tree), "--out", str(tmp_path / "x.tar.gz")], proj) == 1
    err = capsys.readouterr().err
    assert "checker error" in err and "Traceback" not in err
    assert not (tmp_path / "x.tar.gz").exists()


def test_a_file_system_failure_no_edge_named_is_still_one_line_naming_the_path(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse(*args: object, **kwargs: object) -> int:
        raise PermissionError(13, "Permission denied", str(tmp_path / "closed" / "x"))

    monkeypatch.setattr("msb.submission.command.print_report", refuse)
    assert main(["report", str(tmp_path)], project) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and f"{tmp_path / 'closed' / 'x'}: Permission denied" in err and "fix:" in err
