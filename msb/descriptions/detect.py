"""`build.py system detect`: a system description filled with what this host and the image can tell.

The parsers are pure functions of the tools' text (lscpu, /proc/meminfo, nvidia-smi CSV, /etc/os-release, image
labels); `host_facts` is the only place that runs them. What cannot be detected stays a `TODO: ...` placeholder,
which loading the description refuses until a person fills it in.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from msb.descriptions.rounds import RoundProfile
from msb.descriptions.system import IDENTITY_FIELDS, TODO_MARK
from msb.errors import MsbError
from msb.labels import LABEL_BACKENDS, version_label

NVIDIA_SMI_QUERY = "name,memory.total,driver_version"
# How a backend is named in the systems JSON, and the requirement or version label that pins it.
FRAMEWORKS = {"onnxruntime": "ONNX Runtime", "tensorrt": "TensorRT", "pytorch": "PyTorch"}
_FRAMEWORK_PACKAGES = {"onnxruntime": "onnxruntime", "tensorrt": "tensorrt", "pytorch": "torch"}


@dataclass(frozen=True)
class Gpu:
    name: str
    memory_mib: int
    driver: str


@dataclass(frozen=True)
class HostFacts:
    cpu: dict[str, str] = field(default_factory=dict)  # lscpu's "key: value" lines
    memory_kib: int | None = None
    gpus: tuple[Gpu, ...] = ()
    os_name: str | None = None


def parse_lscpu(text: str) -> dict[str, str]:
    facts = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and value.strip():
            facts[key.strip()] = value.strip()
    return facts


def parse_meminfo(text: str) -> int | None:
    """MemTotal in KiB."""
    match = re.search(r"^MemTotal:\s+(\d+)\s*kB", text, re.MULTILINE)
    return int(match.group(1)) if match else None


def parse_nvidia_smi(text: str) -> tuple[Gpu, ...]:
    """`nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader[,nounits]` (a header line,
    as `--format=csv` prints it, is skipped)."""
    gpus = []
    for line in text.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != 3 or parts[0] == "name":
            continue
        memory = re.match(r"(\d+)", parts[1])
        if memory is None:
            continue
        gpus.append(Gpu(parts[0], int(memory.group(1)), parts[2]))
    return tuple(gpus)


def parse_os_release(text: str) -> str | None:
    match = re.search(r'^PRETTY_NAME="?([^"\n]*)"?', text, re.MULTILINE)
    return match.group(1) if match else None


def framework_from(labels: Mapping[str, str], requirements: Sequence[str]) -> tuple[str | None, list[str]]:
    """The systems JSON `framework` and the rest of the software stack from an image's labels and pins."""
    pins = dict(r.split("==", 1) for r in requirements if "==" in r)
    frameworks = []
    for backend in [b for b in labels.get(LABEL_BACKENDS, "").split(",") if b]:
        package = _FRAMEWORK_PACKAGES.get(backend, backend)
        version = pins.get(package) or labels.get(version_label(package))
        frameworks.append(f"{FRAMEWORKS.get(backend, backend)} {version}".strip() if version else backend)
    stack = []
    python = labels.get(version_label("python"))
    if python:
        stack.append(f"Python {python}")
    if "mlcommons-loadgen" in pins:
        stack.append(f"MLPerf LoadGen {pins['mlcommons-loadgen']}")
    return (", ".join(frameworks) or None), stack


def systems_json_fields(facts: HostFacts, framework: str | None, stack: list[str]) -> dict[str, str]:
    """The systems-JSON values the facts answer; callers leave the other fields TODO."""
    out: dict[str, str] = {"number_of_nodes": "1"}
    cpu = facts.cpu
    if "Model name" in cpu:
        out["host_processor_model_name"] = cpu["Model name"]
    if "Socket(s)" in cpu:
        out["host_processors_per_node"] = cpu["Socket(s)"]
        if cpu["Socket(s)"] == "1":
            out["host_processor_interconnect"] = "N/A (one socket)"
    if "Core(s) per socket" in cpu:
        out["host_processor_core_count"] = cpu["Core(s) per socket"]
    if "CPU max MHz" in cpu:
        out["host_processor_frequency"] = f"{float(cpu['CPU max MHz']):.0f} MHz"
    levels = ("L1d cache", "L1i cache", "L2 cache", "L3 cache")
    caches = [f"{name.split()[0]}: {cpu[name]}" for name in levels if name in cpu]
    if caches:
        out["host_processor_caches"] = ", ".join(caches)
    if facts.memory_kib:
        out["host_memory_capacity"] = f"{round(facts.memory_kib / 1024**2)} GB"
    if facts.gpus:
        names = sorted({g.name for g in facts.gpus})
        out["accelerators_per_node"] = str(len(facts.gpus))
        out["accelerator_model_name"] = " + ".join(names)
        out["accelerator_memory_capacity"] = f"{round(max(g.memory_mib for g in facts.gpus) / 1024)} GB"
        stack.append(f"NVIDIA driver {facts.gpus[0].driver}")
    else:
        # The official checker treats a numeric 0 as empty, so "no accelerator" is written as strings.
        out["accelerators_per_node"] = "0"
        for name in ("model_name", "memory_capacity", "frequency", "host_interconnect", "interconnect",
                     "interconnect_topology", "memory_configuration", "on-chip_memories"):  # fmt: skip
            out[f"accelerator_{name}"] = "N/A"
    if facts.os_name:
        out["operating_system"] = facts.os_name
    if framework:
        out["framework"] = framework
    if stack:
        out["other_software_stack"] = ", ".join(stack)
    out["hw_notes"] = ""
    return out


def description(
    facts: HostFacts, profile: RoundProfile, image: str | None, framework: str | None, stack: list[str]
) -> str:
    """The YAML text of a new system description: detected values filled, the rest TODO."""
    known = systems_json_fields(facts, framework, list(stack))
    fields = [f for f in profile.systems.required_fields if f not in IDENTITY_FIELDS]
    systems_json = {f: known.get(f, f"{TODO_MARK}: {f.replace('_', ' ')}") for f in fields}
    top: dict[str, Any] = {
        "name": f"{TODO_MARK}_system_name",
        "submitter": f"{TODO_MARK}_submitter",
        "division": "closed",
        "system_type": f"{TODO_MARK}: one of {', '.join(profile.system_types)}",
        "image": image or f"{TODO_MARK}: image definition in images/",
        "round": profile.name,
    }
    gpus = {"gpus": "all"} if facts.gpus else {}
    header = (
        "# Written by `build.py system detect`: the host's CPU, memory, GPUs and OS, the image's framework.\n"
        f"# Replace every {TODO_MARK} (loading refuses them), then add benchmarks: with the harness settings.\n"
    )
    body = yaml.safe_dump(top, sort_keys=False)
    body += yaml.safe_dump({"systems_json": systems_json}, sort_keys=False, width=120)
    body += yaml.safe_dump({"run": {"shm_size": "1g", **gpus}}, sort_keys=False)
    body += "benchmarks: {}\n"
    return header + body


def host_facts(root: Path = Path("/")) -> HostFacts:
    """Run the host's tools (lscpu, nvidia-smi where present) and read /proc and /etc: the edge of this module."""
    cpu = parse_lscpu(_output(["lscpu"]) or "")
    meminfo = root / "proc" / "meminfo"
    os_release = root / "etc" / "os-release"
    gpus: tuple[Gpu, ...] = ()
    if shutil.which("nvidia-smi"):
        # nvidia-smi present but failing means a broken driver: an error, never a description without its GPUs.
        smi = _output(["nvidia-smi", f"--query-gpu={NVIDIA_SMI_QUERY}", "--format=csv,noheader,nounits"])
        if smi is None:
            raise MsbError("nvidia-smi is installed but failed", "run `nvidia-smi`, fix the driver, detect again")
        gpus = parse_nvidia_smi(smi)
    return HostFacts(
        cpu=cpu,
        memory_kib=parse_meminfo(meminfo.read_text()) if meminfo.is_file() else None,
        gpus=gpus,
        os_name=parse_os_release(os_release.read_text()) if os_release.is_file() else None,
    )


def _output(argv: list[str]) -> str | None:
    try:
        return subprocess.run(argv, capture_output=True, text=True, check=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
