"""Base locks (images/NAME.base.lock): the Debian packages a bootstrapped base installed, `name:arch=version` a line.
Pure: parsing, rendering and comparing; msb.image.bootstrap reads the rootfs and decides."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from msb.descriptions.image import ImageSpec
from msb.errors import LockError

# What `dpkg-query -W` prints with this format; only "ii" (installed, no error) packages count.
DPKG_QUERY_FORMAT = r"${db:Status-Abbrev}\t${Package}\t${Architecture}\t${Version}\n"
_LINE = re.compile(r"^(?P<name>[a-z0-9][a-z0-9+.-]*):(?P<arch>[a-z0-9-]+)=(?P<version>\S+)$")


@dataclass(frozen=True, order=True)
class DebPackage:
    name: str
    architecture: str
    version: str

    def line(self) -> str:
        return f"{self.name}:{self.architecture}={self.version}"


def base_lock_path(spec: ImageSpec) -> Path:
    return spec.lock_path.with_name(f"{spec.name}.base.lock")


def parse_dpkg_query(text: str) -> list[DebPackage]:
    packages = []
    for raw in text.splitlines():
        status, _, rest = raw.partition("\t")
        if status.strip() == "ii":
            name, arch, version = rest.split("\t")
            packages.append(DebPackage(name, arch, version))
    return sorted(packages)


def render_base_lock(spec: ImageSpec, packages: list[DebPackage]) -> str:
    assert spec.base.bootstrap is not None
    settings = spec.base.bootstrap
    lines = [
        f"# Debian packages of the bootstrapped base of images/{spec.name}.yaml ({spec.base.ref});"
        f" accept new versions with: python3 build.py lock {spec.name} --base",
        f"# debootstrap --variant={settings.variant} {settings.suite}, include: {', '.join(settings.include)}",
    ]
    return "\n".join([*lines, *(p.line() for p in sorted(packages))]) + "\n"


def parse_base_lock(text: str, path: Path) -> list[DebPackage]:
    packages = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if not match:
            raise LockError(
                f"{path}:{number}: not a 'name:arch=version' line", "regenerate it: build.py lock NAME --base"
            )
        packages.append(DebPackage(match["name"], match["arch"], match["version"]))
    return sorted(packages)


def package_changes(locked: list[DebPackage], found: list[DebPackage]) -> list[str]:
    """`+ pkg:arch=version` new, `- ...` gone, `~ pkg:arch old -> new` another version; sorted by package."""
    old = {(p.name, p.architecture): p.version for p in locked}
    new = {(p.name, p.architecture): p.version for p in found}
    changes = []
    for key in sorted(old.keys() | new.keys()):
        name = f"{key[0]}:{key[1]}"
        if key not in old:
            changes.append(f"+ {name}={new[key]}")
        elif key not in new:
            changes.append(f"- {name}={old[key]}")
        elif old[key] != new[key]:
            changes.append(f"~ {name} {old[key]} -> {new[key]}")
    return changes
