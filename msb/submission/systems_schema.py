"""The systems/<system>.json description: required fields, non-empty fields, and consistency with the tree."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from msb.descriptions.rounds import RoundProfile
from msb.submission.findings import Finding, error, warning


def load_system_json(path: Path) -> tuple[dict[str, Any] | None, list[Finding]]:
    """The parsed description, or None and a finding saying why it cannot be read."""
    if not path.is_file():
        return None, [error(path, "system description is missing", "write systems/<system>.json for this system")]
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return None, [error(path, f"not valid JSON: {exc}", "fix the JSON syntax")]
    if not isinstance(data, dict):
        return None, [error(path, "must hold a JSON object", "write the fields as one object")]
    return data, []


def system_findings(
    path: Path, data: dict[str, Any], profile: RoundProfile, division: str, submitter: str
) -> list[Finding]:
    """Everything the round's checker requires of a system description."""
    schema = profile.systems
    findings = [
        error(path, f"required field {key!r} is missing", f"add {key!r} (see the round's systems schema)")
        for key in schema.required_fields
        if key not in data
    ]
    findings += [
        error(path, f"field {key!r} is empty but needs a meaningful value", f"fill in {key!r}")
        for key in schema.nonempty_fields
        if key in data and _empty(data[key])
    ]
    known = set(schema.required_fields)
    findings += [
        warning(path, f"unknown field {key!r}", "check the spelling against the round's systems schema")
        for key in sorted(data)
        if key not in known and not key.startswith("power_") and key != "is_network"
    ]
    findings += _consistency(path, data, profile, division, submitter)
    return findings


def _consistency(
    path: Path, data: dict[str, Any], profile: RoundProfile, division: str, submitter: str
) -> list[Finding]:
    findings = []
    status = str(data.get("status", "")).lower()
    if status and status not in profile.statuses:
        findings.append(error(path, f"status {status!r} is not valid", f"use one of {list(profile.statuses)}"))
    system_type = data.get("system_type")
    if system_type and system_type not in profile.system_types:
        findings.append(
            error(path, f"system_type {system_type!r} is not valid", f"use one of {list(profile.system_types)}")
        )
    if data.get("submitter") and str(data["submitter"]).lower() != submitter.lower():
        findings.append(
            error(
                path,
                f"submitter {data['submitter']!r} differs from the directory {submitter!r}",
                "make them equal",
            )
        )
    if data.get("division") and data["division"] != division:
        findings.append(
            error(
                path,
                f"division {data['division']!r} differs from the directory {division!r}",
                "make them equal",
            )
        )
    # Closed-division systems run LoadGen on the SUT itself; only the network division may be over a network.
    if division == "closed" and str(data.get("is_network", "false")).lower() == "true":
        findings.append(error(path, "is_network is true in the closed division", "submit to the network division"))
    return findings


def _empty(value: Any) -> bool:
    # The official checker tests `not value`: 0 and false count as empty too.
    return not value
