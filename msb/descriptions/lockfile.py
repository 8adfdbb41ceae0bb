"""Lock files (images/NAME.lock): pip requirement lines with sha256 hashes, plus a header that ties them to the
definition's requirements so a stale lock is caught. Pure: parsing and rendering only."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from msb.descriptions.image import ImageSpec
from msb.descriptions.yamlfile import read_text
from msb.errors import LockError
from msb.hashing import file_sha256

# Wheel file names: {distribution}-{version}(-{build})?-{python}-{abi}-{platform}.whl (PEP 427).
_WHEEL = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+)(-\d[^-]*)?-[^-]+-[^-]+-[^-]+\.whl$")
_LINE = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)==(?P<version>\S+)\s+--hash=sha256:(?P<sha>[0-9a-f]{64})$")
_INPUTS = "# inputs-sha256: "


@dataclass(frozen=True, order=True)
class LockedWheel:
    name: str  # normalised (PEP 503)
    version: str
    sha256: str


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def wheel_from_file(path: Path) -> LockedWheel:
    match = _WHEEL.match(path.name)
    if not match:
        raise LockError(f"{path.name} is not a wheel file name", "only wheels may be locked (--only-binary=:all:)")
    return LockedWheel(normalise(match["name"]), match["version"], file_sha256(path))


def inputs_digest(spec: ImageSpec) -> str:
    """What the lock was resolved from: the requirements, the interpreter version and the wheel platforms."""
    text = "\n".join([*sorted(spec.requirements), spec.python.version, *spec.python.platforms])
    return hashlib.sha256(text.encode()).hexdigest()


def render_lock(spec: ImageSpec, wheels: list[LockedWheel]) -> str:
    lines = [
        f"# Hash lock of images/{spec.name}.yaml; regenerate with: python3 build.py lock {spec.name}",
        f"# python {spec.python.version}, platforms {' '.join(spec.python.platforms)}",
        f"{_INPUTS}{inputs_digest(spec)}",
    ]
    lines += [f"{w.name}=={w.version} --hash=sha256:{w.sha256}" for w in sorted(wheels)]
    return "\n".join(lines) + "\n"


def parse_lock(spec: ImageSpec, text: str, path: Path) -> list[LockedWheel]:
    """The locked wheels; a lock resolved from other requirements than the definition's is an error."""
    wheels: list[LockedWheel] = []
    recorded_inputs = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith(_INPUTS):
            recorded_inputs = line[len(_INPUTS) :]
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if not match:
            raise LockError(f"{path}:{number}: not a 'name==version --hash=sha256:...' line", "regenerate the lock")
        wheels.append(LockedWheel(normalise(match["name"]), match["version"], match["sha"]))
    if recorded_inputs != inputs_digest(spec):
        raise LockError(
            f"lock {path} does not match the requirements of images/{spec.name}.yaml",
            f"regenerate it: python3 build.py lock {spec.name}",
        )
    return wheels


def read_lock(spec: ImageSpec) -> list[LockedWheel]:
    path = spec.lock_path
    if not path.exists():
        raise LockError(f"image '{spec.name}' has no lock file {path}", f"create it: python3 build.py lock {spec.name}")
    return parse_lock(spec, read_text(path, "lock file"), path)
