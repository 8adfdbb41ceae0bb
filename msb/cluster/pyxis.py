"""Pyxis and Enroot instead of Docker on the nodes: the command lines, as pure functions of the same `ContainerSpec`
the Docker engine starts (msb/container.py), so mounts and the harness command are written once.

UNTESTED on a real Pyxis: neither Pyxis nor Enroot exists on our machines. The flags are those of Pyxis' README
(NVIDIA/pyxis: `--container-image`, `--container-mounts=SRC:DST[:FLAGS]`, `--container-workdir`,
`--[no-]container-mount-home`, `--[no-]container-remap-root`, `--container-entrypoint`) and Enroot's import
documentation (NVIDIA/enroot doc/cmd/import.md).

What differs from `docker run`, and why:
- The user: Pyxis runs the task as the user who called srun (their uid and groups on the node); `spec.user` cannot be
  passed. The image's gid 1500 is not given: files the harness writes get the user's primary group, or the
  experiment folder's group where that folder is setgid (as `build.py run` prepares it). Anyone else who must write
  the experiment needs that group on the nodes. `--no-container-remap-root`: remapped to root, the harness would
  see uid 0 and refuse to run.
- The image: `enroot import` documents `docker://` (a registry), `dockerd://` (a Docker daemon) and `podman://`,
  no `docker save` archive. So the squashfs is made where a Docker daemon holds the image (the submit host after
  `build.py image NAME`, or a node after msb.image.archive.ensure_image loaded the archive) and placed beside the
  archive, named by the same content digest.
- The entrypoint: `--container-entrypoint` runs the image's ENTRYPOINT (`python -m harness`) with `spec.command`,
  as Docker does; the working directory is the image's WORKDIR (msb.image.render.WORK_DIR), as Docker's is.
- GPUs come from Slurm's allocation of the job (`--gpus`/`--gres` on sbatch or srun), not from `spec.gpus`; shared
  memory and limits are the node's and Slurm's (`spec.shm_size`, `spec.ulimits` have no Pyxis flag).
- stdin: in a batch job srun's stdin is /dev/null, which a harness told to stop when its stdin closes reads as its
  owner gone. So a spec held by stdin (`attach_stdin`) is refused: plan Pyxis runs with `attach_stdin=False` and a
  RunSpec with `exit_on_stdin_eof` false; scancel signals the step instead.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from msb.container import ContainerSpec, Mount
from msb.errors import MsbError
from msb.image.archive import content_hex
from msb.image.render import WORK_DIR

SQUASHFS_SUFFIX = ".sqsh"


def squashfs_path(directory: Path, content_sha256: str) -> Path:
    """`DIR/sha256-<content hex>.sqsh`, beside the archive of the same image (msb.image.archive)."""
    return directory / f"sha256-{content_hex(content_sha256)}{SQUASHFS_SUFFIX}"


def enroot_import_argv(image_ref: str, squashfs: Path) -> list[str]:
    """Enroot's squashfs of an image a Docker daemon on this host holds."""
    return ["enroot", "import", "--output", str(squashfs), f"dockerd://{image_ref}"]


def enroot_import_script(image_ref: str, squashfs: Path) -> str:
    """A shell line that imports once: skipped when the squashfs exists, written under a temporary name and renamed,
    so a job started meanwhile never reads half a file."""
    partial = f"{shlex.quote(str(squashfs) + '.partial')}.$$"
    output = shlex.quote(str(squashfs))
    command = shlex.join(enroot_import_argv(image_ref, Path("PARTIAL"))).replace("PARTIAL", partial, 1)
    return f"test -e {output} || {{ {command} && mv {partial} {output}; }}"


def pyxis_argv(spec: ContainerSpec, squashfs: Path) -> list[str]:
    """The srun line that runs the harness container of `spec` from the squashfs, under Pyxis."""
    if not squashfs.is_absolute():
        raise MsbError(
            f"squashfs {squashfs} is not an absolute path (Pyxis would read it as an image to pull)",
            "give its absolute path on the nodes",
        )
    if spec.attach_stdin:
        raise MsbError(
            f"container {spec.name} expects its stdin held open (attach_stdin), which srun in a batch job cannot do",
            "plan it with attach_stdin=False and a RunSpec with exit_on_stdin_eof false",
        )
    return [
        "srun",
        f"--container-image={squashfs}",
        f"--container-mounts={','.join(_mount(m) for m in spec.mounts)}",
        f"--container-workdir={WORK_DIR}",
        "--no-container-mount-home",
        "--no-container-remap-root",
        "--container-entrypoint",
        *spec.command,
    ]


def _mount(mount: Mount) -> str:
    for path in (str(mount.source), mount.target):
        if "," in path or ":" in path:
            raise MsbError(
                f"mount path {path!r} holds ',' or ':', which Pyxis' --container-mounts uses as separators",
                "move the folder to a path without them",
            )
    return f"{mount.source}:{mount.target}{':ro' if mount.read_only else ''}"
