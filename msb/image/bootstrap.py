"""Bootstrapping a Debian base image with debootstrap and `docker import`, for sites with no container registry.

The imported image carries a label with the hash of its bootstrap settings, so a changed `include:` list is noticed
and the base is bootstrapped again instead of being reused silently.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from msb.descriptions.image import Base, Bootstrap
from msb.engine import Engine
from msb.errors import MsbError
from msb.labels import LABEL_BOOTSTRAP as BOOTSTRAP_LABEL

DEFAULT_MIRROR = "http://deb.debian.org/debian"


def bootstrap_sha256(bootstrap: Bootstrap) -> str:
    text = f"{bootstrap.suite}\n{bootstrap.variant}\n{','.join(bootstrap.include)}"
    return hashlib.sha256(text.encode()).hexdigest()


def debian_mirror(sources_dir: Path = Path("/etc/apt")) -> str:
    """The mirror this host already uses (deb822 or one-line sources), so air-gapped sites use their own mirror."""
    if os.environ.get("MSB_DEBIAN_MIRROR"):
        return os.environ["MSB_DEBIAN_MIRROR"]
    for path in sorted(sources_dir.glob("sources.list.d/*.sources")):
        match = re.search(r"(?m)^URIs:\s*(\S+/debian)/?\s*$", path.read_text())
        if match:
            return match.group(1)
    one_line = sources_dir / "sources.list"
    if one_line.is_file():
        match = re.search(r"(?m)^deb\s+(?:\[[^\]]*\]\s+)?(\S+/debian)/?\s", one_line.read_text())
        if match:
            return match.group(1)
    return DEFAULT_MIRROR


def ensure_base(base: Base, engine: Engine, log: Callable[[str], None]) -> str:
    """The local image ID of a bootstrapped base, bootstrapping it first when absent or built from other settings."""
    assert base.bootstrap is not None
    wanted = bootstrap_sha256(base.bootstrap)
    image_id = engine.image_id(base.ref)
    if image_id is not None and engine.image_labels(base.ref).get(BOOTSTRAP_LABEL) == wanted:
        return image_id
    log(f"bootstrapping base {base.ref} (debootstrap {base.bootstrap.variant} {base.bootstrap.suite}; about a minute)")
    return bootstrap(base, engine, wanted)


def bootstrap(base: Base, engine: Engine, label_value: str) -> str:
    assert base.bootstrap is not None
    if shutil.which("debootstrap") is None:
        raise MsbError("debootstrap is not installed", "run `make setup`, or `apt-get install -y debootstrap`")
    if os.geteuid() != 0:
        raise MsbError("debootstrap must run as root to bootstrap the base image", "run this build once as root")
    mirror = debian_mirror()
    with tempfile.TemporaryDirectory(prefix="msb-rootfs-") as tmp:
        rootfs, tarball = Path(tmp) / "rootfs", Path(tmp) / "rootfs.tar"
        cmd = ["debootstrap", f"--variant={base.bootstrap.variant}"]
        if base.bootstrap.include:
            cmd.append(f"--include={','.join(base.bootstrap.include)}")
        cmd += [base.bootstrap.suite, str(rootfs), mirror]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-10:])
            raise MsbError(f"debootstrap from {mirror} failed:\n{tail}", "check the mirror (MSB_DEBIAN_MIRROR) answers")
        subprocess.run(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(tarball), "."], check=True)
        repository, tag = base.image, base.tag
        return engine.import_rootfs(tarball, repository, tag, changes=[f"LABEL {BOOTSTRAP_LABEL}={label_value}"])
