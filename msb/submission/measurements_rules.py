"""Rules on measurements/<system>/<model>/<scenario>/: user.conf, README.md and the implementation JSON."""

from __future__ import annotations

import json
from pathlib import Path

from msb.descriptions.rounds import RoundProfile
from msb.submission.findings import Finding, error


def measurement_findings(
    directory: Path, submitter_dir: Path, system: str, model: str, scenario: str, profile: RoundProfile
) -> list[Finding]:
    if not directory.is_dir():
        return [error(directory, "measurements directory is missing", "write user.conf, README.md and the JSON")]
    findings = []
    for name in profile.files.measurements:
        path = directory / name
        if not path.is_file():
            findings.append(error(path, "required file is missing", f"write {name} for this run"))
        elif path.stat().st_size == 0:
            findings.append(error(path, "required file is empty", f"write the run's {name}"))
    json_file, impl = _implementation_json(directory, system, scenario)
    if json_file is None:
        findings.append(
            error(directory, f"no {system}_<impl>_{scenario}.json", "write the implementation description JSON")
        )
        return findings
    findings += _json_findings(json_file, profile)
    code = submitter_dir / "code" / model
    if not (code / impl).exists() and not code.exists():
        findings.append(error(code / impl, "code directory is missing", "add the implementation's README.md there"))
    return findings


def _implementation_json(directory: Path, system: str, scenario: str) -> tuple[Path | None, str]:
    """`<system>_<impl>_<Scenario>.json` (or `<system>_<impl>.json`) and the <impl> part of its name."""
    candidates = sorted(p for p in directory.glob(f"{system}*.json") if p.is_file())
    for suffix in (f"_{scenario}.json", ".json"):
        for path in candidates:
            if path.name.endswith(suffix):
                return path, path.name[len(system) + 1 : -len(suffix)]
    return None, ""


def _json_findings(path: Path, profile: RoundProfile) -> list[Finding]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return [error(path, f"not valid JSON: {exc}", "fix the JSON syntax")]
    if not isinstance(data, dict):
        return [error(path, "must hold a JSON object", "write the fields as one object")]
    findings = []
    for key in profile.files.measurements_json_fields:
        if key not in data:
            findings.append(error(path, f"required field {key!r} is missing", f"add {key!r}"))
        elif not data[key]:
            findings.append(error(path, f"field {key!r} is empty but needs a meaningful value", f"fill in {key!r}"))
    return findings
