"""Who the container runs as, and the experiment directory it writes."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from msb.descriptions.image import DEFAULT_UID
from msb.descriptions.system import load_system_spec
from msb.errors import ExperimentDirError
from msb.project import Project
from msb.run.expdir import hand_back, identity, identity_for, prepare


def test_root_runs_the_container_as_the_fixed_unprivileged_uid() -> None:
    ident = identity(uid_when_root=15000, gid=1500, euid=0, env={})
    assert (ident.invoking_uid, ident.container_uid, ident.gid) == (0, 15000, 1500)
    assert ident.needs_hand_back


def test_sudo_runs_the_container_as_the_user_behind_sudo() -> None:
    ident = identity(uid_when_root=15000, gid=1500, euid=0, env={"SUDO_UID": "1001"})
    assert (ident.invoking_uid, ident.container_uid) == (1001, 1001)
    assert not ident.needs_hand_back


def test_a_user_runs_the_container_as_themself() -> None:
    ident = identity(uid_when_root=15000, gid=1500, euid=1234, env={"SUDO_UID": "99"})
    assert (ident.invoking_uid, ident.container_uid) == (1234, 1234)


@pytest.mark.skipif(os.geteuid() != 0, reason="changing owners needs root (CI runs as root)")
def test_root_prepares_a_group_writable_setgid_tree_and_hands_results_back(tmp_path: Path) -> None:
    ident = identity(uid_when_root=15000, gid=1500, euid=0, env={})
    experiment = tmp_path / "exp"
    (experiment / "closed").mkdir(parents=True)
    prepare(experiment, ident)
    for path in (experiment, experiment / "closed"):
        st = path.stat()
        assert st.st_gid == 1500 and st.st_mode & 0o2070 == 0o2070
    written = experiment / "closed" / "result.txt"
    written.write_text("x")
    os.chown(written, 15000, 1500)  # as the container would leave it
    assert hand_back(experiment, ident) == 1
    assert (written.stat().st_uid, written.stat().st_gid) == (0, 1500)


def test_uncreatable_experiment_directory_names_the_path(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    ident = identity(uid_when_root=15000, gid=1500, euid=0, env={})
    with pytest.raises(ExperimentDirError) as err:
        prepare(blocker / "exp", ident)
    assert str(blocker / "exp") in err.value.message


@pytest.mark.skipif(os.geteuid() != 0, reason="changing owners needs root (CI runs as root)")
def test_files_another_run_removes_during_the_walk_are_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Two runs into one experiment: the other run's staging files vanish while this one walks the tree.
    ident = identity(uid_when_root=15000, gid=1500, euid=0, env={})
    experiment = tmp_path / "exp"
    staging = experiment / ".staging" / "other-run"
    staging.mkdir(parents=True)
    (staging / "summary.txt").write_text("x")
    (experiment / "kept.txt").write_text("y")
    real_chown, real_lstat = os.chown, os.lstat

    def vanishing_chown(path: str | Path, uid: int, gid: int) -> None:
        if str(path).startswith(str(staging)):
            raise FileNotFoundError(2, "No such file or directory", str(path))
        real_chown(path, uid, gid)

    def vanishing_lstat(path: str | Path) -> os.stat_result:
        if str(path).startswith(str(staging)):
            raise FileNotFoundError(2, "No such file or directory", str(path))
        return real_lstat(path)

    monkeypatch.setattr(os, "chown", vanishing_chown)
    prepare(experiment, ident)
    assert (experiment / "kept.txt").stat().st_gid == 1500
    monkeypatch.setattr(os, "lstat", vanishing_lstat)
    os.lchown(experiment / "kept.txt", 15000, 1500)
    assert hand_back(experiment, ident) == 1


@pytest.mark.parametrize(("euid", "expected"), [(0, 4242), (1234, 1234)])
def test_identity_for_a_system_is_the_invoker_or_under_root_its_uid_when_root(
    project: Project, monkeypatch: pytest.MonkeyPatch, euid: int, expected: int
) -> None:
    system = load_system_spec(project, "cpu-demo-v61")
    system = dataclasses.replace(system, run=dataclasses.replace(system.run, uid_when_root=4242))
    monkeypatch.setattr(os, "geteuid", lambda: euid)
    monkeypatch.delenv("SUDO_UID", raising=False)
    ident = identity_for(system, gid=1500)
    assert (ident.invoking_uid, ident.container_uid, ident.gid) == (euid, expected, 1500)


def test_a_description_without_uid_when_root_runs_root_invocations_as_the_images_default_user(
    project: Project, tmp_path: Path
) -> None:
    text = load_system_spec(project, "cpu-demo-v61").text.replace("  uid_when_root: 15000\n", "")
    (tmp_path / "s.yaml").write_text(text)
    assert load_system_spec(project, str(tmp_path / "s.yaml")).run.uid_when_root == DEFAULT_UID == 15000
