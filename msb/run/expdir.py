"""The experiment directory on the host: who the container runs as, preparing the folder so that user can write
it, and handing results back to the invoking user afterwards."""

from __future__ import annotations

import errno
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from msb.descriptions.system import SystemSpec
from msb.errors import ExperimentDirError


@dataclass(frozen=True)
class Identity:
    invoking_uid: int  # who asked for the run (SUDO_UID under sudo): owns the results
    container_uid: int  # who the container runs as: never 0
    gid: int  # the image's fixed group

    @property
    def needs_hand_back(self) -> bool:
        return self.container_uid != self.invoking_uid


def identity_for(system: SystemSpec, gid: int) -> Identity:
    """Who a unit of `system` runs as: the invoking user, or under root the system's run.uid_when_root; in the
    image's group `gid`. Every command that starts a container asks this."""
    return identity(system.run.uid_when_root, gid, os.geteuid(), os.environ)


def identity(uid_when_root: int, gid: int, euid: int, env: Mapping[str, str]) -> Identity:
    """Root invoking build.py (a fresh machine, CI) gets a fixed unprivileged container uid; under sudo, the user."""
    invoking = euid
    if euid == 0 and env.get("SUDO_UID", "0").isdigit() and int(env.get("SUDO_UID", "0")) != 0:
        invoking = int(env["SUDO_UID"])
    return Identity(invoking_uid=invoking, container_uid=invoking if invoking != 0 else uid_when_root, gid=gid)


def fs_error(action: str, path: Path | str, exc: OSError, ident: Identity) -> ExperimentDirError:
    """An OSError on the experiment folder as a message naming the path, and a fix for its cause."""
    fixes = {
        errno.EROFS: "the file system is read-only: choose an --experiment on a writable one",
        errno.ENOSPC: "the disk is full: free space there or choose an --experiment on another disk",
        errno.EDQUOT: "your disk quota is used up: free space or choose another --experiment",
    }
    fix = fixes.get(
        exc.errno or 0,
        f"run `sudo chown -R {ident.invoking_uid}:{ident.gid} {path}` or choose another --experiment",
    )
    return ExperimentDirError(f"cannot {action} {path}: {exc.strerror or exc}", fix)


def prepare(experiment: Path, ident: Identity) -> None:
    """Create or check the folder so the container's uid (with the fixed gid) can write it; fail before any run."""
    try:
        experiment.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExperimentDirError(
            f"cannot create experiment directory {experiment}: {exc.strerror}",
            "choose a writable --experiment path, or create it and give it to your user",
        ) from None
    if os.geteuid() == 0:
        share_with_group(experiment, ident)
        return
    if not os.access(experiment, os.W_OK | os.X_OK) or experiment.stat().st_uid != ident.container_uid:
        raise ExperimentDirError(
            f"experiment directory {experiment} is not writable by uid {ident.container_uid}",
            f"run `sudo chown -R {ident.container_uid}:{ident.gid} {experiment}` or choose another --experiment",
        )
    try:
        experiment.chmod(0o2775)
    except OSError as exc:
        raise fs_error("chmod g+w", experiment, exc, ident) from None


def share_with_group(experiment: Path, ident: Identity) -> None:
    """Owner: the invoking user; group: the fixed gid, group-writable, setgid dirs, so a container running as another
    unprivileged uid in that group can add results next to earlier ones.

    Another run into the same experiment may remove its staging files while this walks: a path that vanished
    needs no group."""
    path: Path | str = experiment
    try:
        os.chown(experiment, ident.invoking_uid, ident.gid)
        experiment.chmod(0o2775)
        for root, dirs, files in os.walk(experiment):
            for name, bits in [*((d, 0o2070) for d in dirs), *((f, 0o060) for f in files)]:
                path = os.path.join(root, name)
                try:
                    os.chown(path, -1, ident.gid)
                    os.chmod(path, os.stat(path).st_mode | bits)
                except FileNotFoundError:
                    continue
    except OSError as exc:
        raise fs_error(f"chgrp {ident.gid}", path, exc, ident) from None


def hand_back(experiment: Path, ident: Identity) -> int:
    """Give what the container's uid wrote to the invoking user (the group stays the fixed gid); returns the count."""
    if not ident.needs_hand_back:
        return 0
    count = 0
    path: Path | str = experiment
    try:
        for root, dirs, files in os.walk(experiment):
            for name in [*dirs, *files]:
                path = os.path.join(root, name)
                try:
                    if os.lstat(path).st_uid == ident.container_uid:
                        os.lchown(path, ident.invoking_uid, ident.gid)
                        count += 1
                except FileNotFoundError:  # another run's staging file, removed while this walks
                    continue
    except OSError as exc:
        raise fs_error(f"chown {ident.invoking_uid}:{ident.gid}", path, exc, ident) from None
    return count


def give_to_invoker(experiment: Path, ident: Identity) -> None:
    """Under sudo, what this process wrote (state, logs, reports, truncated logs, calibration.md) belongs to the
    user too."""
    if os.geteuid() != 0 or ident.invoking_uid == 0:
        return
    for root, dirs, files in os.walk(experiment):
        for name in [*dirs, *files]:
            path = os.path.join(root, name)
            if os.lstat(path).st_uid == 0:
                os.lchown(path, ident.invoking_uid, ident.gid)
