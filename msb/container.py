"""What `docker run` is asked for one harness container, as plain data, and the equivalent `docker run` line.

The engine (msb.engine) starts a `ContainerSpec` through the Docker API; `docker_run_argv` renders the same container
as a command line for `--print-command` and for auditors. Both are pure, so tests assert every option without an
engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Mount:
    source: Path  # on the host, absolute
    target: str  # in the container
    read_only: bool

    def bind(self) -> str:
        return f"{self.source}:{self.target}:{'ro' if self.read_only else 'rw'}"


@dataclass(frozen=True)
class ContainerSpec:
    image: str
    name: str
    command: tuple[str, ...]  # arguments to the image's entrypoint (the harness)
    user: str  # "UID:GID"
    mounts: tuple[Mount, ...]
    labels: dict[str, str] = field(default_factory=dict)
    shm_size: str = "1g"
    ulimits: dict[str, str] = field(default_factory=dict)  # name -> "SOFT" or "SOFT:HARD"
    gpus: str | None = None  # as docker's --gpus: "all", "2", "device=0,1"
    # The engine holds the container's stdin open while it waits: when the tool dies, stdin closes and the harness
    # (told by its spec) stops, so no container outlives its build.py.
    attach_stdin: bool = True


def docker_run_argv(spec: ContainerSpec) -> list[str]:
    """The `docker run` line that starts the same container the engine starts."""
    args = ["docker", "run", "--rm", "--init"]
    if spec.attach_stdin:
        args.append("--interactive")
    args += ["--name", spec.name, "--user", spec.user, "--shm-size", spec.shm_size]
    for key, value in sorted(spec.labels.items()):
        args += ["--label", f"{key}={value}"]
    for name, value in sorted(spec.ulimits.items()):
        args += ["--ulimit", f"{name}={value}"]
    if spec.gpus is not None:
        args += ["--gpus", spec.gpus]
    for mount in spec.mounts:
        args += ["-v", mount.bind()]
    return [*args, spec.image, *spec.command]
