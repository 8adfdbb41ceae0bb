"""TensorRT's real Python bindings as data, tests only: the hash-pinned binding wheels and the names they define.

The wheels (tests/support/tensorrt_bindings.yaml) hold `tensorrt_bindings/tensorrt.so` without libnvinfer, so it cannot
be imported here; but pybind11 keeps every class, method, property and enum member name, and every docstring, as a
NUL-terminated string in the module's `.rodata` section. The linker merges a string into the tail of a longer one
("flags" lives in "quantization_flags"), so a name is defined when some string of that section ends with it. The
docstrings' `:arg NAME:` lines give the documented argument names; which method a docstring belongs to is set only at
run time (pybind11 pairs them in code), so a keyword argument is checked against all of them.
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
import struct
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.support import REPO

ROOT = REPO
LOCK = Path(__file__).with_name("tensorrt_bindings.yaml")
CACHE = ROOT / ".cache" / "tensorrt-bindings"
SKIP_VARIABLE = "MSB_SKIP_NETWORK"

_IDENTIFIER_TAIL = re.compile(r"[A-Za-z0-9_]+\Z")
_ARG_LINE = re.compile(r":arg (\w+):")


class BindingFetchError(Exception):
    """A binding wheel could not be had: not cached and not downloadable, or not the locked bytes."""


@dataclass(frozen=True)
class BindingWheel:
    image: str  # the image whose TensorRT this wheel binds (images/<image>.yaml)
    requirement: str
    python: str
    platform: str
    file: str
    url: str
    sha256: str

    @property
    def version(self) -> str:
        return self.requirement.partition("==")[2]


@dataclass(frozen=True)
class Binding:
    """The names one TensorRT version's Python module defines."""

    version: str
    names: frozenset[str]  # every identifier `.rodata` ends a string with, and the package's Python-level names
    arg_names: frozenset[str]  # every `:arg NAME:` of its docstrings

    def has(self, name: str) -> bool:
        return name in self.names


def read_lock(path: Path = LOCK) -> list[BindingWheel]:
    entries = yaml.safe_load(path.read_text())["wheels"]
    return [BindingWheel(**{key: str(value) for key, value in entry.items()}) for entry in entries]


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _verified(path: Path, wheel: BindingWheel, where: str) -> Path:
    got = file_sha256(path)
    if got != wheel.sha256:
        raise BindingFetchError(
            f"{path.name} ({where}) has sha256 {got}, but {LOCK.name} pins {wheel.sha256}: delete {path} and rerun; "
            f"if PyPI really changed the file, regenerate the entry as {LOCK.name} says"
        )
    return path


def fetch_wheel(wheel: BindingWheel, cache: Path = CACHE) -> Path:
    """The locked wheel from the cache, else downloaded by the host's pip once; always checked against its sha256."""
    cached = cache / wheel.file
    if cached.is_file():
        return _verified(cached, wheel, f"cached in {cache}")
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix="download-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "-q", "--no-deps", "-d", tmp]
        cmd += ["--only-binary=:all:", "--implementation", "cp", "--python-version", wheel.python]
        cmd += ["--platform", wheel.platform, wheel.requirement]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        downloaded = Path(tmp) / wheel.file
        if result.returncode != 0 or not downloaded.is_file():
            tail = "\n".join(result.stderr.strip().splitlines()[-4:]) or "pip found no such file"
            raise BindingFetchError(
                f"could not download {wheel.file} ({wheel.requirement}) into {cache}: {tail}"
                f"\nThis test needs PyPI once (CI has it), or the wheel put in {cache} by hand from {wheel.url}; "
                f"set {SKIP_VARIABLE}=1 to skip it on a machine without network"
            )
        _verified(downloaded, wheel, f"downloaded from {wheel.url}")
        os.replace(downloaded, cached)
    return cached


def _section(elf: bytes, wanted: str) -> bytes:
    """One section's bytes of a 64-bit little-endian ELF file, found by name."""
    if elf[:6] != b"\x7fELF\x02\x01":
        raise ValueError("not a 64-bit little-endian ELF file")
    shoff = struct.unpack_from("<Q", elf, 0x28)[0]
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", elf, 0x3A)
    headers = [struct.unpack_from("<IIQQQQ", elf, shoff + i * shentsize) for i in range(shnum)]
    names_at = headers[shstrndx][4]
    for name_offset, _type, _flags, _addr, offset, size in headers:
        name = elf[names_at + name_offset : elf.index(b"\0", names_at + name_offset)].decode()
        if name == wanted:
            return elf[offset : offset + size]
    raise ValueError(f"no {wanted} section")


def _python_names(source: str) -> set[str]:
    """The names a Python module defines at its top level (the bindings' __init__.py adds __version__, nptype...)."""
    names: set[str] = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
    return names


def read_binding(wheel_path: Path, version: str) -> Binding:
    """The names in a binding wheel's tensorrt.so (and its package's __init__.py), read as bytes, never imported."""
    with zipfile.ZipFile(wheel_path) as archive:
        elf = archive.read("tensorrt_bindings/tensorrt.so")
        init = archive.read("tensorrt_bindings/__init__.py").decode()
    names = _python_names(init)
    arg_names: set[str] = set()
    for raw in _section(elf, ".rodata").split(b"\0"):
        text = raw.decode("latin-1")
        arg_names.update(_ARG_LINE.findall(text))
        tail = _IDENTIFIER_TAIL.search(text)
        if tail:
            run = tail.group()
            names.update(run[i:] for i in range(len(run)) if not run[i].isdigit())
    return Binding(version, frozenset(names), frozenset(arg_names))
