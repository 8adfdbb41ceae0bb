"""msb/cluster/pyxis.py: the exact srun and enroot lines for a harness container (untested on a real Pyxis)."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest

from harness.contract import CONTAINER_DATASET, CONTAINER_EXPERIMENT, CONTAINER_MODEL_DIR
from msb.cluster.pyxis import enroot_import_argv, enroot_import_script, pyxis_argv, squashfs_path
from msb.container import ContainerSpec, Mount
from msb.errors import MsbError

SPEC_PATH = f"{CONTAINER_EXPERIMENT}/.msb/runs/0123456789ab/spec.json"
SQSH = Path("/shared/images/sha256-" + "a" * 64 + ".sqsh")


def container(**changes: object) -> ContainerSpec:
    spec = ContainerSpec(
        image="msb/cpu:latest",
        name="msb-demo-resnet50-offline-performance-01234567",
        command=("run", "--spec", SPEC_PATH),
        user="15000:1500",
        mounts=(
            Mount(Path("/shared/exp"), CONTAINER_EXPERIMENT, read_only=False),
            Mount(Path("/shared/imagenet"), CONTAINER_DATASET, read_only=True),
            Mount(Path("/shared/models"), CONTAINER_MODEL_DIR, read_only=True),
        ),
        gpus="device=0",
        attach_stdin=False,
    )
    return dataclasses.replace(spec, **changes)  # type: ignore[arg-type]


def test_the_srun_line_mounts_what_docker_mounts_and_runs_the_harness_entrypoint() -> None:
    assert pyxis_argv(container(), SQSH) == [
        "srun",
        f"--container-image={SQSH}",
        "--container-mounts=/shared/exp:/work/experiment,/shared/imagenet:/data/dataset:ro,/shared/models:/data/model:ro",
        "--container-workdir=/work",
        "--no-container-mount-home",
        "--no-container-remap-root",
        "--container-entrypoint",
        "run",
        "--spec",
        "/work/experiment/.msb/runs/0123456789ab/spec.json",
    ]


def test_a_container_held_by_its_stdin_is_refused() -> None:
    with pytest.raises(MsbError, match="expects its stdin held open") as raised:
        pyxis_argv(container(attach_stdin=True), SQSH)
    assert "attach_stdin=False" in raised.value.fix


def test_a_relative_squashfs_is_refused() -> None:
    with pytest.raises(MsbError, match=r"squashfs images/x\.sqsh is not an absolute path"):
        pyxis_argv(container(), Path("images/x.sqsh"))


def test_a_mount_path_with_a_separator_is_named() -> None:
    mounts = (Mount(Path("/shared/exp,2"), CONTAINER_EXPERIMENT, read_only=False),)
    with pytest.raises(MsbError, match="mount path '/shared/exp,2' holds ','"):
        pyxis_argv(container(mounts=mounts), SQSH)


def test_the_squashfs_is_named_by_content_beside_the_archive() -> None:
    assert squashfs_path(Path("/shared/images"), "sha256:" + "a" * 64) == SQSH
    assert enroot_import_argv("msb/cpu:latest", SQSH) == [
        "enroot",
        "import",
        "--output",
        str(SQSH),
        "dockerd://msb/cpu:latest",
    ]


def test_the_import_runs_once_and_renames_into_place(tmp_path: Path) -> None:
    # A stand-in `enroot` on PATH records its arguments and writes the --output file.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "enroot").write_text('#!/bin/sh\necho "$@" >> "$(dirname "$0")/calls"\necho squashfs > "$3"\n')
    (bin_dir / "enroot").chmod(0o755)
    squashfs = tmp_path / "with space" / "sha256-x.sqsh"
    squashfs.parent.mkdir()
    script = enroot_import_script("msb/cpu:latest", squashfs)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin"}
    for _ in range(2):
        subprocess.run(["sh", "-c", script], env=env, check=True)
    calls = (bin_dir / "calls").read_text().splitlines()
    assert len(calls) == 1  # the second run found the squashfs
    assert calls[0].startswith(f"import --output {squashfs}.partial.") and calls[0].endswith(
        " dockerd://msb/cpu:latest"
    )
    assert squashfs.read_text() == "squashfs\n"
    assert sorted(p.name for p in squashfs.parent.iterdir()) == [squashfs.name]
