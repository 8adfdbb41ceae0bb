"""The pip edge: downloads wheels on the host for the image's interpreter and platform.

Containers here cannot verify TLS to the package index (an intercepting CA only the host trusts), and we never copy
the host's CA into an image. So wheels are fetched by the host's pip and installed in the image with --no-index.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from msb.descriptions.image import PythonTarget
from msb.errors import LockError


def target_args(python: PythonTarget) -> list[str]:
    abi = "cp" + python.version.replace(".", "")
    args = ["--only-binary=:all:", "--python-version", python.version, "--implementation", "cp", "--abi", abi]
    for platform in python.platforms:
        args += ["--platform", platform]
    return args


def download(python: PythonTarget, dest: Path, requirement_args: list[str], no_deps: bool = False) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "-q", "-d", str(dest)]
    cmd += target_args(python)
    if no_deps:
        cmd.append("--no-deps")
    cmd += requirement_args
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-8:])
        raise LockError(
            f"pip download failed for {' '.join(requirement_args)}:\n{tail}",
            "check the package index is reachable from this host and the pinned versions have wheels for "
            f"Python {python.version} on {', '.join(python.platforms)}",
        )
