"""Image definitions (images/NAME.yaml): the base by tag and digest, Python, locked requirements, group, default
user, versions."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.contract import NAME_RULE, is_name
from msb.descriptions.system import UID_WHEN_ROOT
from msb.descriptions.yamlfile import (
    Where,
    check_keys,
    get_int,
    get_mapping,
    get_name,
    get_scalars,
    get_str,
    get_strings,
    load_mapping,
    named_files,
)
from msb.errors import SpecError
from msb.project import Project

# The image's default user (its USER) when the definition names none: the uid `build.py run` gives the container
# when root invokes it (RunOptions.uid_when_root), so a `docker run IMAGE` by hand never runs the harness as root.
DEFAULT_UID = UID_WHEN_ROOT


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
    if not is_name(name):
        raise SpecError(f"image {name!r} is not a valid image name", f"give a name from {project.images} ({NAME_RULE})")
    path = project.images / f"{name}.yaml"
    if not path.exists():
        valid = ", ".join(image_names(project)) or "(none)"
        raise SpecError(f"unknown image '{name}'", f"choose one of: {valid} (definitions live in {project.images})")
    return parse_image_spec(load_mapping(path, "image definition"), path)


def parse_image_spec(data: dict[str, Any], path: Path) -> ImageSpec:
    where = f"image definition {path}"
    top = Where(where)
    check_keys(
        data,
        where,
        required=["name", "description", "round", "base", "python", "requirements", "backends"],
        optional=["group", "uid", "versions"],
    )
    name = get_name(data, "name", top)
    if name != path.stem:
        raise SpecError(f"{where}: name '{name}' differs from the file name", f"set name: {path.stem}")
    python = _parse_python(get_mapping(data, "python", top), top.at("python"))
    group_where = top.at("group")
    group = get_mapping(data, "group", top, {"name": "mlperf", "gid": 1500})
    check_keys(group, group_where, required=["name", "gid"])
    uid = get_int(data, "uid", top, DEFAULT_UID, minimum=0)
    if uid == 0:
        raise SpecError(
            f"{top.at('uid')}: 0 would run the image as root", f"choose an unprivileged uid, e.g. {DEFAULT_UID}"
        )
    return ImageSpec(
        name=name,
        description=get_str(data, "description", top),
        round=get_name(data, "round", top),
        base=_parse_base(get_mapping(data, "base", top), top.at("base")),
        python=python,
        requirements=get_strings(data, "requirements", top, ()),
        backends=get_strings(data, "backends", top, ()),
        gid=get_int(group, "gid", group_where, minimum=1),
        group=get_name(group, "name", group_where),
        uid=uid,
        versions={k: str(v) for k, v in get_scalars(data, "versions", top).items()},
        source=path,
    )


def _parse_base(data: dict[str, Any], where: Where) -> Base:
    check_keys(data, where, required=["image", "tag"], optional=["digest", "bootstrap"])
    digest = get_str(data, "digest", where, None)
    if digest is not None and not digest.startswith("sha256:"):
        raise SpecError(f"{where.at('digest')}: '{digest}' is not a sha256 digest", "run `build.py lock NAME`")
    bootstrap = None
    boot = get_mapping(data, "bootstrap", where, None)
    if boot is not None:
        boot_where = where.at("bootstrap")
        check_keys(boot, boot_where, required=["suite", "variant", "include"])
        bootstrap = Bootstrap(
            get_str(boot, "suite", boot_where),
            get_str(boot, "variant", boot_where),
            tuple(sorted(get_strings(boot, "include", boot_where, ()))),
        )
    return Base(get_str(data, "image", where), get_str(data, "tag", where), digest, bootstrap)


def _parse_python(data: dict[str, Any], where: Where) -> PythonTarget:
    check_keys(data, where, required=["executable", "version", "platforms"], optional=["pip"])
    pip = get_str(data, "pip", where, "venv")
    if pip not in ("venv", "module"):
        raise SpecError(f"{where.at('pip')}: must be 'venv' or 'module', not '{pip}'", "set pip: venv or pip: module")
    return PythonTarget(
        get_str(data, "executable", where),
        get_str(data, "version", where),
        get_strings(data, "platforms", where),
        pip,
    )
