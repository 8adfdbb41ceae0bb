"""Image definitions (images/NAME.yaml): the base by tag and digest, Python, locked requirements, group, default
user, versions."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from msb.errors import SpecError
from msb.project import Project
from msb.yamlspec import check_keys, load_mapping, named_files

# The image's default user (its USER) when the definition names none: the uid `build.py run` gives the container
# when root invokes it (RunOptions.uid_when_root), so a `docker run IMAGE` by hand never runs the harness as root.
DEFAULT_UID = 15000


@dataclass(frozen=True)
class Bootstrap:
    """A base built here with debootstrap and `docker import`, for machines that reach no container registry."""

    suite: str
    variant: str
    include: tuple[str, ...]


@dataclass(frozen=True)
class Base:
    image: str  # repository, e.g. nvcr.io/nvidia/tensorrt
    tag: str
    digest: str | None  # sha256:..., None until `build.py lock` resolves it (or, bootstrapped, until it exists)
    bootstrap: Bootstrap | None

    @property
    def ref(self) -> str:
        return f"{self.image}:{self.tag}"


@dataclass(frozen=True)
class PythonTarget:
    """The interpreter in the image, and the wheel tags `pip download` must fetch for it."""

    executable: str
    version: str  # "3.11"
    platforms: tuple[str, ...]  # manylinux tags, most specific first
    # How the dependency stage gets a pip: "venv" makes a throwaway venv (Debian's python3 has no pip of its own),
    # "module" uses the base's `python3 -m pip` (NGC images ship pip).
    pip: str = "venv"


@dataclass(frozen=True)
class ImageSpec:
    name: str
    description: str
    round: str
    base: Base
    python: PythonTarget
    requirements: tuple[str, ...]
    backends: tuple[str, ...]
    gid: int
    group: str
    uid: int = DEFAULT_UID  # the image's USER is uid:gid; `build.py run` overrides it with --user
    versions: dict[str, str] = field(default_factory=dict)
    source: Path | None = None  # the YAML file it came from (hashed into the image labels)

    @property
    def lock_path(self) -> Path:
        assert self.source is not None
        return self.source.with_suffix(".lock")


def image_names(project: Project) -> list[str]:
    return named_files(project.images)


def load_image_spec(project: Project, name: str) -> ImageSpec:
    path = project.images / f"{name}.yaml"
    if not path.is_file():
        valid = ", ".join(image_names(project)) or "(none)"
        raise SpecError(f"unknown image '{name}'", f"choose one of: {valid} (definitions live in {project.images})")
    return parse_image_spec(load_mapping(path, "image definition"), path)


def parse_image_spec(data: dict[str, Any], path: Path) -> ImageSpec:
    where = f"image definition {path}"
    check_keys(
        data,
        where,
        required=["name", "description", "round", "base", "python", "requirements", "backends"],
        optional=["group", "uid", "versions"],
    )
    if data["name"] != path.stem:
        raise SpecError(f"{where}: name '{data['name']}' differs from the file name", f"set name: {path.stem}")
    base_data = data["base"]
    check_keys(base_data, f"{where} base", required=["image", "tag"], optional=["digest", "bootstrap"])
    digest = base_data.get("digest")
    if digest is not None and not str(digest).startswith("sha256:"):
        raise SpecError(f"{where}: base digest '{digest}' is not a sha256 digest", "run `build.py lock NAME`")
    bootstrap = None
    if base_data.get("bootstrap") is not None:
        boot = base_data["bootstrap"]
        check_keys(boot, f"{where} base.bootstrap", required=["suite", "variant", "include"])
        bootstrap = Bootstrap(boot["suite"], boot["variant"], tuple(sorted(boot["include"])))
    py = data["python"]
    check_keys(py, f"{where} python", required=["executable", "version", "platforms"], optional=["pip"])
    if py.get("pip", "venv") not in ("venv", "module"):
        raise SpecError(f"{where}: python.pip must be 'venv' or 'module', not '{py['pip']}'")
    group = data.get("group", {"name": "mlperf", "gid": 1500})
    check_keys(group, f"{where} group", required=["name", "gid"])
    uid = int(data.get("uid", DEFAULT_UID))
    if uid == 0:
        raise SpecError(
            f"{where}: uid is 0, so the image would run as root", f"choose an unprivileged uid, e.g. {DEFAULT_UID}"
        )
    return ImageSpec(
        name=data["name"],
        description=data["description"],
        round=data["round"],
        base=Base(base_data["image"], str(base_data["tag"]), digest, bootstrap),
        python=PythonTarget(py["executable"], str(py["version"]), tuple(py["platforms"]), py.get("pip", "venv")),
        requirements=tuple(data["requirements"]),
        backends=tuple(data["backends"]),
        gid=int(group["gid"]),
        group=str(group["name"]),
        uid=uid,
        versions={str(k): str(v) for k, v in (data.get("versions") or {}).items()},
        source=path,
    )
