"""The Docker engine edge: everything the tool asks of the daemon, behind one small interface.

`Engine` is what the rest of the code depends on; `DockerEngine` talks to a real daemon through docker-py. Daemon
errors become typed errors (msb.errors) that name the input and the fix.
"""

from __future__ import annotations

import contextlib
import shutil
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import docker
import docker.errors
import docker.utils

from msb.errors import BuildFailed, EngineUnavailable, MsbError

LOG_TAIL_LINES = 25


@dataclass(frozen=True)
class EngineInfo:
    version: str
    runtimes: tuple[str, ...]


class Engine(Protocol):
    def info(self) -> EngineInfo: ...

    def image_id(self, ref: str) -> str | None: ...

    def image_labels(self, ref: str) -> dict[str, str]: ...

    def build(self, context: Path, tags: list[str], on_line: Callable[[str], None]) -> str: ...

    def import_rootfs(self, tarball: Path, repository: str, tag: str, changes: list[str]) -> str: ...

    def pull_digest(self, ref: str) -> str: ...

    def remove_container(self, name: str) -> None: ...


def has_nvidia_runtime(info: EngineInfo, which: Callable[[str], str | None] = shutil.which) -> bool:
    """`--gpus` needs the NVIDIA runtime registered with the daemon, or the container toolkit's hook on this host."""
    return "nvidia" in info.runtimes or which("nvidia-container-runtime-hook") is not None


def follow_build(stream: Iterable[dict[str, Any]], on_line: Callable[[str], None]) -> str:
    """Stream `docker build` output line by line; return the image ID or raise BuildFailed with the log's tail."""
    tail: deque[str] = deque(maxlen=LOG_TAIL_LINES)
    image_id = ""
    for chunk in stream:
        if "error" in chunk:
            tail.append(str(chunk["error"]).strip())
            raise BuildFailed("docker build failed", list(tail), "read the log lines above; fix the step that failed")
        text = chunk.get("stream", "")
        for line in text.splitlines():
            if line.strip():
                tail.append(line)
                on_line(line)
            if line.startswith("Successfully built "):
                image_id = line.split()[-1]
        aux = chunk.get("aux") or {}
        if "ID" in aux:
            image_id = aux["ID"]
    if not image_id:
        raise BuildFailed("docker build ended without producing an image", list(tail))
    return image_id


class DockerEngine:
    """A real Docker daemon, found the way the docker CLI finds it (DOCKER_HOST or the default socket)."""

    def __init__(self) -> None:
        try:
            # The same daemon the docker CLI would use (DOCKER_HOST, TLS settings), since `run` uses that CLI.
            self._api = docker.APIClient(version="auto", **docker.utils.kwargs_from_env())
            self._api.ping()
        except docker.errors.DockerException as exc:
            raise EngineUnavailable(
                f"no Docker engine answers ({exc.__class__.__name__}: {exc})",
                "run `make setup` (installs Debian's docker.io and starts dockerd), or start your engine",
            ) from None

    def info(self) -> EngineInfo:
        data = self._api.info()
        return EngineInfo(str(data.get("ServerVersion", "")), tuple(sorted((data.get("Runtimes") or {}).keys())))

    def image_id(self, ref: str) -> str | None:
        try:
            return str(self._api.inspect_image(ref)["Id"])
        except docker.errors.ImageNotFound:
            return None

    def image_labels(self, ref: str) -> dict[str, str]:
        try:
            config = self._api.inspect_image(ref)["Config"]
        except docker.errors.ImageNotFound:
            raise MsbError(f"image {ref} does not exist here", "build it first: python3 build.py image NAME") from None
        return dict(config.get("Labels") or {})

    def build(self, context: Path, tags: list[str], on_line: Callable[[str], None]) -> str:
        # --network none: every input is in the context already, so the build cannot depend on what the network
        # serves today. pull=False: the base is pinned by digest and must already be here.
        stream = self._api.build(
            path=str(context),
            tag=tags[0],
            rm=True,
            forcerm=True,
            decode=True,
            pull=False,
            network_mode="none",
        )
        image_id = follow_build(stream, on_line)
        for tag in tags[1:]:
            repository, _, name = tag.rpartition(":")
            self._api.tag(image_id, repository, name)
        return image_id

    def import_rootfs(self, tarball: Path, repository: str, tag: str, changes: list[str]) -> str:
        self._api.import_image_from_file(str(tarball), repository=repository, tag=tag, changes=changes)
        image_id = self.image_id(f"{repository}:{tag}")
        if image_id is None:
            raise MsbError(f"docker import of {tarball} produced no image {repository}:{tag}")
        return image_id

    def pull_digest(self, ref: str) -> str:
        try:
            self._api.pull(ref)
            digests = self._api.inspect_image(ref).get("RepoDigests") or []
        except docker.errors.APIError as exc:
            raise MsbError(
                f"cannot pull {ref}: {exc.explanation or exc}",
                "run `build.py lock` where the registry is reachable and commit the digest it writes",
            ) from None
        repository = ref.rsplit(":", 1)[0]
        for digest in digests:
            name, _, value = digest.partition("@")
            if name == repository:
                return value
        raise MsbError(f"{ref} was pulled but the engine reports no registry digest for it")

    def remove_container(self, name: str) -> None:
        with contextlib.suppress(docker.errors.NotFound):
            self._api.remove_container(name, force=True)
