"""Bootstrapping a Debian base image with debootstrap and `docker import`, for sites with no container registry.

The imported image carries a label with the hash of its bootstrap settings, so a changed `include:` list is noticed
and the base is bootstrapped again instead of being reused silently. What a bootstrap installed is held against the
base lock (images/NAME.base.lock) before the import: a mirror serving other versions is refused, not followed.
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

from msb.descriptions.baselock import (
    DPKG_QUERY_FORMAT,
    DebPackage,
    base_lock_path,
    package_changes,
    parse_base_lock,
    parse_dpkg_query,
    render_base_lock,
)
from msb.descriptions.image import Bootstrap, ImageSpec
from msb.descriptions.yamlfile import read_text
from msb.engine import Engine
from msb.errors import LockError, MsbError
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


def ensure_base(spec: ImageSpec, engine: Engine, log: Callable[[str], None]) -> str:
    """The local image ID of a bootstrapped base, bootstrapping it first when absent or built from other settings."""
    assert spec.base.bootstrap is not None
    wanted = bootstrap_sha256(spec.base.bootstrap)
    image_id = engine.image_id(spec.base.ref)
    if image_id is not None and engine.image_labels(spec.base.ref).get(BOOTSTRAP_LABEL) == wanted:
        return image_id
    return bootstrap(spec, engine, log, accept=False)


def bootstrap(spec: ImageSpec, engine: Engine, log: Callable[[str], None], accept: bool) -> str:
    """debootstrap, hold the packages against the base lock (`accept`: rewrite the lock instead), docker import."""
    base, settings = spec.base, spec.base.bootstrap
    assert settings is not None
    log(f"bootstrapping base {base.ref} (debootstrap {settings.variant} {settings.suite}; about a minute)")
    with tempfile.TemporaryDirectory(prefix="msb-rootfs-") as tmp:
        rootfs, tarball = Path(tmp) / "rootfs", Path(tmp) / "rootfs.tar"
        debootstrap(settings, rootfs)
        log(settle_base_lock(spec, installed_packages(rootfs), accept))
        subprocess.run(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(tarball), "."], check=True)
        label = f"LABEL {BOOTSTRAP_LABEL}={bootstrap_sha256(settings)}"
        return engine.import_rootfs(tarball, base.image, base.tag, changes=[label])


def debootstrap(settings: Bootstrap, rootfs: Path) -> None:
    if shutil.which("debootstrap") is None:
        raise MsbError("debootstrap is not installed", "run `make setup`, or `apt-get install -y debootstrap`")
    if os.geteuid() != 0:
        raise MsbError("debootstrap must run as root to bootstrap the base image", "run this build once as root")
    mirror = debian_mirror()
    cmd = ["debootstrap", f"--variant={settings.variant}"]
    if settings.include:
        cmd.append(f"--include={','.join(settings.include)}")
    cmd += [settings.suite, str(rootfs), mirror]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-10:])
        raise MsbError(f"debootstrap from {mirror} failed:\n{tail}", "check the mirror (MSB_DEBIAN_MIRROR) answers")


def installed_packages(rootfs: Path) -> list[DebPackage]:
    """The rootfs's own dpkg database, read by the host's dpkg-query (debootstrap needs a Debian host anyway)."""
    admindir = rootfs / "var" / "lib" / "dpkg"
    cmd = ["dpkg-query", f"--admindir={admindir}", "-W", f"-f={DPKG_QUERY_FORMAT}"]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise MsbError(f"dpkg-query could not list the packages in {rootfs}: {result.stderr.strip()}")
    return parse_dpkg_query(result.stdout)


def settle_base_lock(spec: ImageSpec, packages: list[DebPackage], accept: bool) -> str:
    """Hold a bootstrap's packages against the base lock. No lock yet, or `accept`: write it. Other versions than
    the lock's: refused with the differences. Returns what it did, for the log."""
    path = base_lock_path(spec)
    if path.exists() and not accept:
        changes = package_changes(parse_base_lock(read_text(path, "base lock"), path), packages)
        if changes:
            listing = "\n".join(f"    {line}" for line in changes)
            raise LockError(
                f"the bootstrap of {spec.base.ref} installed other Debian packages than {path} holds"
                f" ({len(changes)} differ; + new, - gone, ~ other version):\n{listing}",
                f"to accept them on purpose: python3 build.py lock {spec.name} --base (review and commit the diff)",
            )
        return f"base packages match {path} ({len(packages)} packages)"
    path.write_text(render_base_lock(spec, packages))
    return f"wrote {path} ({len(packages)} packages): commit it"
