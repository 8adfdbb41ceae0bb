"""The provenance manifest of a result unit: everything that made it, in one JSON file kept outside the submission
tree (`<experiment>/.msb/manifests/<unit>.json`), so a result can be traced and re-run (`build.py reproduce`).

`build_manifest` is pure (plain data in, a dict out); `write_manifest` and `collect_*` are the edges. Stable key
order: two manifests diff line by line.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import socket
import subprocess
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.contract import RunRecord, to_json
from msb.container import docker_run_argv
from msb.descriptions.detect import parse_meminfo
from msb.descriptions.system import SystemSpec
from msb.engine import Engine
from msb.errors import SpecError
from msb.image.provenance import git_revision, project_version
from msb.paths import atomic_write, inside
from msb.project import Project
from msb.run.runner import RunPlan

SCHEMA = 1
MANIFESTS_DIR = ".msb/manifests"
_PROVENANCE_HEADING = "## Provenance"


@dataclass(frozen=True)
class ImageFacts:
    ref: str
    id: str
    repo_digests: tuple[str, ...]
    labels: dict[str, str]


@dataclass(frozen=True)
class Placement:
    """Where the unit ran: the node's host name and, under Slurm, the job's id."""

    node: str
    slurm_job_id: str | None


@dataclass(frozen=True)
class HostFacts:
    cpu_model: str
    cores: int
    memory_kib: int | None
    kernel: str
    docker: str
    gpus: tuple[dict[str, str], ...]


def manifest_path(experiment: Path, unit: str) -> Path:
    return inside(experiment, experiment / MANIFESTS_DIR / f"{unit}.json", "the manifest")


def build_manifest(
    plan: RunPlan,
    record: RunRecord,
    system: SystemSpec,
    image: ImageFacts,
    host: HostFacts,
    tool: dict[str, str],
    user_conf: str | None,
    placement: Placement | None = None,
) -> dict[str, Any]:
    """The manifest of the unit `record.units[0]`, as plain data."""
    mounts = {mount.target: str(mount.source) for mount in plan.container.mounts}
    text = system.text or ""
    return {
        "schema": SCHEMA,
        "unit": record.units[0],
        "tool": tool,
        "image": asdict(image),
        "system": {
            "name": system.name,
            "path": str(system.path) if system.path else None,
            "sha256": hashlib.sha256(text.encode()).hexdigest(),
            "description": text,
        },
        "spec": json.loads(to_json(plan.spec)),
        "user_conf": user_conf,
        "docker_run": docker_run_argv(plan.container),
        "mounts": mounts,
        "round": plan.spec.round,
        "loadgen": record.provenance.get("loadgen", {}),
        "dataset": record.provenance.get("dataset", {}),
        "model": record.provenance.get("model", {}),
        "host": asdict(host),
        "node": placement.node if placement else None,
        "slurm_job_id": placement.slurm_job_id if placement else None,
        "started": record.started,
        "finished": record.finished,
        "outcome": record.outcome.value,
        "figures": asdict(record.figures),
        "verifications": record.verifications,
        "files": list(record.files),
    }


def manifest_text(manifest: dict[str, Any]) -> str:
    return json.dumps(manifest, indent=2, sort_keys=True) + "\n"


def write_manifest(experiment: Path, manifest: dict[str, Any]) -> tuple[Path, str]:
    """Atomically, beside any earlier one of the unit (replaced); returns its path and sha256."""
    path = manifest_path(experiment, str(manifest["unit"]))
    text = manifest_text(manifest)
    atomic_write(path, text)
    return path, hashlib.sha256(text.encode()).hexdigest()


def note_in_readme(experiment: Path, readme: str, lines: list[str]) -> None:
    """Replace the README's Provenance section with `lines` (one per manifest of that README's scenario)."""
    path = inside(experiment, experiment / readme, "the measurements README")
    if not path.is_file():
        return
    text = path.read_text()
    kept = text.split(f"\n{_PROVENANCE_HEADING}\n", 1)[0].rstrip("\n")
    section = "\n".join(f"- {line}" for line in lines)
    atomic_write(path, f"{kept}\n\n{_PROVENANCE_HEADING}\n\n{section}\n")


def readme_lines(experiment: Path, readme: str) -> list[str]:
    """One line per manifest whose run wrote `readme`: the unit, the manifest's sha256, the command to reproduce it."""
    root = experiment / MANIFESTS_DIR
    lines = []
    for path in sorted(root.rglob("*.json")) if root.is_dir() else []:
        text = path.read_text()
        data = json.loads(text)
        if data.get("readme") != readme:
            continue
        relative = path.relative_to(experiment)
        sha = hashlib.sha256(text.encode()).hexdigest()
        lines.append(
            f"`{data['unit']}`: manifest `{relative}` (sha256 {sha}); reproduce with `build.py reproduce {relative}`"
        )
    return lines


def record_result(
    plan: RunPlan, record: RunRecord, system: SystemSpec, engine: Engine, placement: Placement | None = None
) -> tuple[Path, str]:
    """Write the unit's manifest (and the README's Provenance section); returns the manifest's path and sha256.
    `placement`: where it ran (a Slurm job's node and id); by default this host and SLURM_JOB_ID if set."""
    files = [f for f in record.files if f.endswith("/user.conf")]
    user_conf = (plan.experiment / files[0]).read_text() if files else None
    root = Project.from_here().root  # the tool's own checkout: the code that made the result
    revision, _created = git_revision(root)
    tool = {"version": project_version(root), "revision": revision}
    manifest = build_manifest(plan, record, system, collect_image(engine, plan.container.image), collect_host(engine),
                              tool, user_conf, placement or collect_placement(os.environ))  # fmt: skip
    manifest["readme"] = record.readme
    path, sha = write_manifest(plan.experiment, manifest)
    if record.readme:
        note_in_readme(plan.experiment, record.readme, readme_lines(plan.experiment, record.readme))
    return path, sha


def read_manifest(path: Path) -> dict[str, Any]:
    """A manifest file, checked to be one of a schema this tool reads."""
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as error:
        raise SpecError(f"cannot read manifest {path} ({error})", "give the path of a manifest.json") from None
    except json.JSONDecodeError as error:
        raise SpecError(f"{path} is not a manifest: not JSON ({error})", "give a file from .msb/manifests/") from None
    if not isinstance(data, dict) or "schema" not in data or "spec" not in data:
        raise SpecError(f"{path} is not a manifest", "give a file from <experiment>/.msb/manifests/")
    if data["schema"] != SCHEMA:
        raise SpecError(
            f"manifest {path} has schema {data['schema']}; this tool reads schema {SCHEMA}",
            "use the version of the tool that wrote it (its tool.revision)",
        )
    return data


def collect_image(engine: Engine, ref: str) -> ImageFacts:
    inspected = engine.inspect(ref)
    labels = dict((inspected.get("Config") or {}).get("Labels") or {})
    return ImageFacts(ref, str(inspected.get("Id", "")), tuple(inspected.get("RepoDigests") or ()), labels)


def collect_placement(environ: Mapping[str, str]) -> Placement:
    return Placement(socket.gethostname(), environ.get("SLURM_JOB_ID") or None)


def collect_host(engine: Engine) -> HostFacts:
    return HostFacts(
        cpu_model=_cpu_model(),
        cores=os.cpu_count() or 0,
        memory_kib=_memory_kib(),
        kernel=platform.release(),
        docker=engine.info().version,
        gpus=_gpus(),
    )


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    match = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE) if cpuinfo.is_file() else None
    return match.group(1).strip() if match else platform.processor()


def _memory_kib() -> int | None:
    meminfo = Path("/proc/meminfo")
    return parse_meminfo(meminfo.read_text()) if meminfo.is_file() else None


def _gpus() -> tuple[dict[str, str], ...]:
    if shutil.which("nvidia-smi") is None:
        return ()
    query = "name,uuid,memory.total,driver_version"
    try:
        out = subprocess.run(
            ["nvidia-smi", f"--query-gpu={query}", "--format=csv,noheader"],
            capture_output=True, text=True, check=True, timeout=30,
        ).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return ()
    keys = query.split(",")
    return tuple(dict(zip(keys, (p.strip() for p in line.split(",")), strict=False)) for line in out.splitlines())
