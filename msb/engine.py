"""The Docker engine edge: everything the tool asks of the daemon, behind one small interface.

`Engine` is what the rest of the code depends on; `DockerEngine` talks to a real daemon through docker-py. Daemon
errors become typed errors (msb.errors) that name the input and the fix.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import threading
import uuid
from collections import deque
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import docker
import docker.errors
import docker.types
import docker.utils
import docker.utils.socket

from msb.container import ContainerSpec
from msb.errors import BuildFailed, EngineUnavailable, MsbError, RunFailed

LOG_TAIL_LINES = 25
_STEP_IMAGE = re.compile(r"^ ---> ([0-9a-f]{12,64})$")


@dataclass(frozen=True)
class EngineInfo:
    version: str
    runtimes: tuple[str, ...]


@dataclass(frozen=True)
class ContainerInfo:
    name: str
    labels: dict[str, str]


class Engine(Protocol):
    def info(self) -> EngineInfo: ...

    def image_id(self, ref: str) -> str | None: ...

    def image_labels(self, ref: str) -> dict[str, str]: ...

    def inspect(self, ref: str) -> dict[str, Any]:
        """The daemon's description of an image (Id, RepoDigests, Config.Labels, ...)."""
        ...

    def build(self, context: Path, tags: list[str], on_line: Callable[[str], None], nocache: bool = False) -> str:
        """Build the context's Dockerfile; tag the image with `tags` (none: untagged); return its ID."""
        ...

    def remove_image(self, ref: str) -> None:
        """Remove an image (and the untagged parents only it used); absent or still used by others: left alone."""
        ...

    def export_filesystem(self, image: str) -> Generator[bytes, None, None]:
        """The image's filesystem as a tar stream, in chunks (`docker export` of a container that never starts)."""
        ...

    def import_rootfs(self, tarball: Path, repository: str, tag: str, changes: list[str]) -> str: ...

    def save_image(self, ref: str, dest: Path) -> None:
        """Write `docker save REF` (the image, its layers and the tag REF) to the file `dest`, streamed."""
        ...

    def load_image(self, archive: Path) -> list[str]:
        """`docker load` of a `docker save` archive; the references it loaded (tags, else image IDs)."""
        ...

    def pull_digest(self, ref: str) -> str: ...

    def remove_container(self, name: str) -> None: ...

    def run_container(self, spec: ContainerSpec, on_output: Callable[[str], None]) -> int:
        """Start the container, pass each line of its output to `on_output`, return its exit status once it is gone.
        An exception while waiting (Ctrl-C, SIGTERM) stops the container (its harness discards what it staged)
        and is raised again once the container is gone."""
        ...

    def containers(self, labels: dict[str, str]) -> list[ContainerInfo]:
        """Containers of any state that carry all of `labels`."""
        ...


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


def loaded_refs(stream: Iterable[dict[str, Any]], archive: Path) -> list[str]:
    """The references `docker load` reports ("Loaded image: REF", or "Loaded image ID: ID" for an untagged image);
    an error in the stream raises an MsbError naming the archive."""
    refs: list[str] = []
    for chunk in stream:
        if "error" in chunk:
            raise MsbError(
                f"docker load of {archive} failed: {str(chunk['error']).strip()}",
                "copy the archive again from the submit host (build.py image NAME --export DIR writes it)",
            )
        for line in str(chunk.get("stream", "")).splitlines():
            for prefix in ("Loaded image: ", "Loaded image ID: "):
                if line.startswith(prefix):
                    refs.append(line.removeprefix(prefix).strip())
    return refs


def created_images(lines: Iterable[str]) -> list[str]:
    """The images a classic-builder build made, in order, from its log: each step's ` ---> ID`, except the images
    a FROM step names (bases, which other builds share)."""
    made: list[str] = []
    after_from = False
    for line in lines:
        if line.startswith("Step "):
            after_from = " : FROM " in line
        match = _STEP_IMAGE.match(line)
        if match and not after_from:
            made.append(match.group(1))
    return made


class DockerEngine:
    """A real Docker daemon, found the way the docker CLI finds it (DOCKER_HOST or the default socket)."""

    def __init__(self) -> None:
        try:
            # The daemon the docker CLI would use (DOCKER_HOST, TLS settings): the one `--print-command` lines reach.
            self._client_args = docker.utils.kwargs_from_env()
            self._api = docker.APIClient(version="auto", **self._client_args)
            self._api.ping()
        except docker.errors.DockerException as exc:
            raise EngineUnavailable(
                f"no Docker engine answers ({exc.__class__.__name__}: {exc})",
                "run `make setup` (installs Debian's docker.io and starts dockerd), or start your engine",
            ) from None

    def info(self) -> EngineInfo:
        data = self._api.info()
        return EngineInfo(str(data.get("ServerVersion", "")), tuple(sorted((data.get("Runtimes") or {}).keys())))

    def inspect(self, ref: str) -> dict[str, Any]:
        # docker-py's stubs leave inspect_image untyped; the daemon answers a JSON object.
        data: dict[str, Any] = self._api.inspect_image(ref)  # type: ignore[no-untyped-call]
        return data

    def image_id(self, ref: str) -> str | None:
        try:
            return str(self.inspect(ref)["Id"])
        except docker.errors.ImageNotFound:
            return None

    def image_labels(self, ref: str) -> dict[str, str]:
        try:
            config = self.inspect(ref)["Config"]
        except docker.errors.ImageNotFound:
            raise MsbError(f"image {ref} does not exist here", "build it first: python3 build.py image NAME") from None
        return dict(config.get("Labels") or {})

    def build(self, context: Path, tags: list[str], on_line: Callable[[str], None], nocache: bool = False) -> str:
        # --network none: every input is in the context already, so the build cannot depend on what the network
        # serves today. pull=False: the base is pinned by digest and must already be here. nocache: every step
        # re-runs (--verify and the nightly job check that the definition still builds, not that the cache holds).
        stream = self._api.build(
            path=str(context),
            tag=tags[0] if tags else None,
            rm=True,
            forcerm=True,
            decode=True,
            pull=False,
            network_mode="none",
            nocache=nocache,
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

    def save_image(self, ref: str, dest: Path) -> None:
        try:
            chunks = self._api.get_image(ref)
            with dest.open("wb") as handle:
                for chunk in chunks:
                    handle.write(chunk)
        except docker.errors.APIError as exc:
            raise MsbError(
                f"cannot save image {ref}: {exc.explanation or exc}", "build it first: python3 build.py image NAME"
            ) from None

    def load_image(self, archive: Path) -> list[str]:
        try:
            with archive.open("rb") as handle:
                # docker-py's stubs leave load_image untyped; it yields the daemon's JSON progress objects.
                return loaded_refs(self._api.load_image(handle), archive)  # type: ignore[no-untyped-call]
        except docker.errors.APIError as exc:
            raise MsbError(
                f"docker load of {archive} failed: {exc.explanation or exc}",
                "copy the archive again from the submit host (build.py image NAME --export DIR writes it)",
            ) from None

    def pull_digest(self, ref: str) -> str:
        try:
            self._api.pull(ref)
            digests = self.inspect(ref).get("RepoDigests") or []
        except docker.errors.APIError as exc:
            raise MsbError(
                f"cannot pull {ref}: {exc.explanation or exc}",
                "run `build.py lock` where the registry is reachable and commit the digest it writes",
            ) from None
        repository = ref.rsplit(":", 1)[0]
        for digest in digests:
            name, _, value = digest.partition("@")
            if name == repository:
                return str(value)
        raise MsbError(f"{ref} was pulled but the engine reports no registry digest for it")

    def remove_container(self, name: str) -> None:
        with contextlib.suppress(docker.errors.NotFound):
            self._api.remove_container(name, force=True)

    def remove_image(self, ref: str) -> None:
        # Not forced: an image another build has since taken as its cache or parent stays where it is.
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            self._api.remove_image(ref, force=False)

    def export_filesystem(self, image: str) -> Generator[bytes, None, None]:
        name = f"msb-export-{uuid.uuid4().hex[:12]}"
        try:
            # Created, never started: the filesystem is the image's (plus the engine's empty mount points), nothing
            # a process wrote. The command is never run; it only spares images without CMD a refusal.
            self._api.create_container(image, command=["true"], name=name, network_disabled=True)
        except docker.errors.APIError as exc:
            raise MsbError(f"cannot create a container of {image} to export: {exc.explanation or exc}") from None
        try:
            yield from self._api.export(name)
        finally:
            self.remove_container(name)

    def containers(self, labels: dict[str, str]) -> list[ContainerInfo]:
        found = self._api.containers(all=True, filters={"label": [f"{k}={v}" for k, v in labels.items()]})
        return [ContainerInfo(str(c["Names"][0]).lstrip("/"), dict(c.get("Labels") or {})) for c in found]

    def run_container(self, spec: ContainerSpec, on_output: Callable[[str], None]) -> int:
        try:
            container = self._api.create_container(
                spec.image,
                command=list(spec.command),
                user=spec.user,
                labels=spec.labels,
                name=spec.name,
                # Not detached with stdin open sets StdinOnce: our end closing (we died) closes the harness's stdin.
                stdin_open=spec.attach_stdin,
                detach=False,
                host_config=self._api.create_host_config(
                    binds=[mount.bind() for mount in spec.mounts],
                    shm_size=spec.shm_size,
                    ulimits=[_ulimit(name, value) for name, value in sorted(spec.ulimits.items())],
                    device_requests=_device_requests(spec.gpus),
                    init=True,  # a real PID 1 forwards SIGTERM to the harness
                    auto_remove=True,
                ),
            )
        except docker.errors.APIError as exc:
            raise RunFailed(f"cannot create container {spec.name}: {exc.explanation or exc}") from None
        try:
            # Attach before start so no output is lost; the socket is our end of the container's stdin.
            sock = self._api.attach_socket(container, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
            _blocking(sock)
            # A client of its own: the waiter blocks in its request while this one streams.
            waiter = _Waiter(docker.APIClient(version=self._api.api_version, **self._client_args), spec.name)
            waiter.start()
            self._api.start(container)
        except docker.errors.APIError as exc:
            self.remove_container(spec.name)
            raise _start_failed(spec, exc) from None
        except BaseException:
            self.remove_container(spec.name)
            raise
        try:
            _follow(sock, on_output)
            return waiter.result()
        except BaseException:
            with contextlib.suppress(docker.errors.APIError):
                self._api.stop(spec.name, timeout=20)  # SIGTERM first: the harness cleans its staging
            waiter.result()
            raise
        finally:
            sock.close()


class _Waiter(threading.Thread):
    """Waits for the container to be removed (auto_remove) and keeps its exit status; started before the container
    so a run that ends at once is not missed."""

    def __init__(self, api: docker.APIClient, name: str) -> None:
        super().__init__(daemon=True)
        self._api, self._name = api, name
        self._status: int | None = None
        self._error: str = ""

    def run(self) -> None:
        try:
            self._status = int(self._api.wait(self._name, timeout=None, condition="removed")["StatusCode"])
        except docker.errors.NotFound:
            self._status = None
        except docker.errors.APIError as exc:
            self._error = str(exc.explanation or exc)

    def result(self) -> int:
        self.join()
        if self._status is None:
            why = self._error or "removed before it was waited for"
            raise RunFailed(f"lost track of container {self._name} ({why})")
        return self._status


def _follow(sock: Any, on_output: Callable[[str], None]) -> None:
    """The container's multiplexed stdout and stderr, line by line, until it closes them."""
    pending = b""
    frames = docker.utils.socket.frames_iter(sock, tty=False)  # type: ignore[no-untyped-call]  # untyped in stubs
    for _stream, data in frames:
        pending += data
        *lines, pending = pending.split(b"\n")
        for line in lines:
            on_output(line.decode(errors="replace"))
    if pending:
        on_output(pending.decode(errors="replace"))


def _blocking(sock: Any) -> None:
    # docker-py gives the attach socket the client's 60 s timeout; a quiet run may print nothing for longer.
    raw = getattr(sock, "_sock", sock)
    raw.settimeout(None)


def _ulimit(name: str, value: str) -> docker.types.Ulimit:
    soft, _, hard = value.partition(":")
    return docker.types.Ulimit(name=name, soft=int(soft), hard=int(hard or soft))


def _device_requests(gpus: str | None) -> list[docker.types.DeviceRequest]:
    """docker's --gpus: "all", a count, or "device=0,1"."""
    if gpus is None:
        return []
    if gpus.startswith("device="):
        ids = [d for d in gpus.removeprefix("device=").split(",") if d]
        return [docker.types.DeviceRequest(device_ids=ids, capabilities=[["gpu"]])]
    count = -1 if gpus == "all" else int(gpus)
    return [docker.types.DeviceRequest(count=count, capabilities=[["gpu"]])]


def _start_failed(spec: ContainerSpec, exc: docker.errors.APIError) -> MsbError:
    text = str(exc.explanation or exc)
    if "could not select device driver" in text:
        return MsbError(
            f"--gpus {spec.gpus} was asked for, but this Docker engine cannot give GPUs ({text})",
            "install the NVIDIA Container Toolkit and restart dockerd, or run on a GPU host; we never fall back to CPU",
        )
    return RunFailed(f"cannot start container {spec.name}: {text}")
