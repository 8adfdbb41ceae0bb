"""Rules on a scenario's description: user.conf, README.md and the measurements JSON, and the code they point to.

Where they lie is the round's layout (`harness.contract.layout`): measurements/<system>/<model>/<scenario>/ with a
`<system>_<impl>_<scenario>.json` in v5.x, the scenario's results folder with `measurements.json` in v6.x.
"""

from __future__ import annotations

import json
from pathlib import Path

from harness.contract.layout import V6, SubmitterLayout
from msb.descriptions.rounds import RoundProfile
from msb.submission.findings import Finding, error


def measurement_findings(
    directory: Path, code: Path, system: str, scenario: str, tree: SubmitterLayout, profile: RoundProfile
) -> list[Finding]:
    """`directory` holds the description files; `code` is the model's folder under code/ (v5) or src/ (v6)."""
    if not directory.is_dir():
        return [error(directory, "measurements directory is missing", "write user.conf, README.md and the JSON")]
    findings = []
    for name in profile.files.measurements:
        path = directory / name
        if not path.is_file():
            findings.append(error(path, "required file is missing", f"write {name} for this run"))
        elif path.stat().st_size == 0:
            findings.append(error(path, "required file is empty", f"write the run's {name}"))
    json_file, impl = _implementation_json(directory, system, scenario, tree)
    if json_file is None:
        wanted = tree.measurements_json_name(system, "<impl>", scenario)
        findings.append(error(directory, f"no {wanted}", "write the implementation description JSON"))
        return findings
    findings += _json_findings(json_file, profile)
    if not code.exists():
        where = code / impl if impl else code
        findings.append(
            error(where, f"{code.parent.name} directory is missing", "add the implementation's README.md there")
        )
    return findings


def _implementation_json(directory: Path, system: str, scenario: str, tree: SubmitterLayout) -> tuple[Path | None, str]:
    """The measurements JSON and the <impl> part of its name (v6's fixed name names none)."""
    if tree.kind == V6:
        path = directory / tree.measurements_json_name(system, "", scenario)
        return (path, "") if path.is_file() else (None, "")
    # v5: `<system>_<impl>_<Scenario>.json`, or `<system>_<impl>.json`.
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
