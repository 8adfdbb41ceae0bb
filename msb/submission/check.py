"""Our submission checker: the round's rules applied to DIR/<division>/<submitter>/..., linter-style.

It follows the round's official checker (tools/submission/submission_checker.py in mlcommons/inference) and is
stricter in two ways: an empty tree is an error, not a vacuous pass, and every finding carries its fix.
"""

from __future__ import annotations

from pathlib import Path

from harness.contract import SCENARIOS
from harness.contract.layout import V6, SubmitterLayout
from msb.descriptions.rounds import ModelRules, RoundProfile
from msb.submission.accuracy_rules import accuracy_findings
from msb.submission.compliance_rules import compliance_findings
from msb.submission.findings import Finding, error, warning
from msb.submission.measurements_rules import measurement_findings
from msb.submission.performance_rules import performance_run_findings
from msb.submission.systems_schema import load_system_json, system_findings
from msb.submission.tree_rules import hygiene_findings

_ROOT_DOC_SUFFIXES = (".md", ".pdf")
# Folders a submission repository may hold beside the divisions (the official checker skips them too).
_ROOT_EXTRAS = (".git", ".github", "assets")


def check_tree(root: Path, profile: RoundProfile) -> list[Finding]:
    """Every finding for the submission tree at `root`, checked against `profile`."""
    if not root.is_dir():
        return [error(root, "submission directory does not exist", "give the directory that holds closed/")]
    findings = [
        error(p, "file outside any division", "move it under closed/<submitter>/ or remove it")
        for p in sorted(root.iterdir())
        if p.is_file() and not p.name.endswith(_ROOT_DOC_SUFFIXES)
    ]
    divisions = sorted(p for p in root.iterdir() if p.is_dir() and p.name not in _ROOT_EXTRAS)
    submitters = 0
    for division in divisions:
        if division.name.startswith("."):
            # The harness keeps .staging/ and .cache/ in the experiment directory; pack leaves them out.
            findings.append(warning(division, "not part of the submission", "none needed: pack leaves it out"))
            continue
        if division.name not in profile.divisions:
            findings.append(error(division, "not a division", f"use one of {list(profile.divisions)}"))
            continue
        findings += hygiene_findings(division, profile.max_file_bytes)
        findings += [
            error(p, "file outside any submitter directory", "move it under the submitter's directory")
            for p in sorted(division.iterdir())
            if p.is_file()
        ]
        for submitter in sorted(p for p in division.iterdir() if p.is_dir()):
            submitters += 1
            findings += _check_submitter(submitter, division.name, profile)
    if submitters == 0:
        findings.append(
            error(
                root,
                "no results: the tree holds no <division>/<submitter>/",
                "run the benchmarks into it first",
            )
        )
    return findings


def _check_submitter(submitter: Path, division: str, profile: RoundProfile) -> list[Finding]:
    results = submitter / "results"
    if not results.is_dir():
        return [error(results, "missing: this submitter has no results", "run the benchmarks into this tree")]
    tree = SubmitterLayout(division, submitter.name, profile.layout)
    findings = _other_layout_findings(submitter, profile)
    if profile.calibration_doc_required and division != "open":
        # Either place is accepted in every round; the finding names the one the round's layout writes.
        docs = (submitter / "calibration.md", submitter / "documentation" / "calibration.md")
        if not any(p.is_file() for p in docs):
            findings.append(
                error(
                    submitter.parent.parent / tree.calibration_doc,
                    "calibration document is missing",
                    "write calibration.md: how weights were quantized",
                )
            )
    systems = sorted(p for p in results.iterdir() if p.is_dir())
    if not systems:
        findings.append(error(results, "no system directories under results/", "run the benchmarks into this tree"))
    if profile.every_system_has_results:
        findings += _systems_without_results(submitter, {p.name for p in systems})
    for system_dir in systems:
        findings += _check_system(submitter, system_dir, tree, profile)
    return findings


def _other_layout_findings(submitter: Path, profile: RoundProfile) -> list[Finding]:
    """Folders only the other layout has: a tree written for one round and checked as another's."""
    if profile.layout != V6:
        return []
    moved = {"code": "src/", "measurements": "results/<system>/<model>/<Scenario>/", "compliance": "the same"}
    return [
        error(
            submitter / name,
            f"a v5.x folder; round {profile.name} has no {name}/",
            f"move its contents to {where} (or run the benchmarks again with --round {profile.name})",
        )
        for name, where in moved.items()
        if (submitter / name).exists()
    ]


def _systems_without_results(submitter: Path, with_results: set[str]) -> list[Finding]:
    findings = []
    systems_dir, measurements_dir = submitter / "systems", submitter / "measurements"
    if systems_dir.is_dir():
        findings += [
            error(p, "system description without results", "remove it, or run this system's benchmarks")
            for p in sorted(systems_dir.glob("*.json"))
            if p.stem not in with_results
        ]
    if measurements_dir.is_dir():
        findings += [
            error(p, "measurements without results", "remove them, or run this system's benchmarks")
            for p in sorted(measurements_dir.iterdir())
            if p.is_dir() and p.name not in with_results
        ]
    return findings


def _check_system(submitter: Path, system_dir: Path, tree: SubmitterLayout, profile: RoundProfile) -> list[Finding]:
    json_path = submitter.parent.parent / tree.system_json(system_dir.name)
    data, findings = load_system_json(json_path)
    if data is None:
        return findings
    findings += system_findings(json_path, data, profile, tree.division, submitter.name)
    # With no valid system type (already a finding) the required scenarios are unknown; the runs are still checked.
    system_type = data.get("system_type") if data.get("system_type") in profile.system_types else None
    for model_dir in sorted(p for p in system_dir.iterdir() if p.is_dir()):
        findings += _check_model(submitter, model_dir, tree, system_type, profile)
    return findings


def _check_model(
    submitter: Path, model_dir: Path, tree: SubmitterLayout, system_type: str | None, profile: RoundProfile
) -> list[Finding]:
    model = profile.model(model_dir.name)
    strict = tree.division != "open"
    if model is None:
        known = ", ".join(profile.models)
        return [error(model_dir, f"no rules for model {model_dir.name!r} in round {profile.name}", f"use {known}")]
    required = model.scenarios_for(system_type) if system_type else SCENARIOS
    if required is None:
        return [
            error(
                model_dir,
                f"{model.name} is not part of the {system_type} suite in round {profile.name}",
                f"submit it on a system of type {' or '.join(model.required_scenarios)}",
            )
        ]
    findings: list[Finding] = []
    present = sorted(p.name for p in model_dir.iterdir() if p.is_dir())
    missing = [s for s in required if s not in present]
    if missing and system_type:
        make = error if strict else warning
        findings.append(
            make(
                model_dir,
                f"required scenario(s) {', '.join(missing)} missing for a {system_type} system",
                f"run {model.name} in {', '.join(missing)} too",
            )
        )
    for scenario in present:
        if strict and scenario not in required:
            findings.append(
                error(
                    model_dir / scenario,
                    f"scenario {scenario} is not in the round for {system_type}",
                    "remove it",
                )
            )
            continue
        findings += _check_scenario(submitter, model_dir, model, scenario, tree, profile)
    return findings


def _check_scenario(
    submitter: Path, model_dir: Path, model: ModelRules, scenario: str, tree: SubmitterLayout, profile: RoundProfile
) -> list[Finding]:
    system = model_dir.parent.name
    result = model_dir / scenario
    base = submitter.parent.parent  # the tree's root: the layout's paths start at the division

    findings = measurement_findings(
        base / tree.measurements_dir(system, model.name, scenario),
        base / tree.code_root / model.name,
        system,
        scenario,
        tree,
        profile,
    )
    findings += accuracy_findings(result / "accuracy", model, profile, strict=tree.division != "open")
    run = result / "performance" / "run_1"
    findings += performance_run_findings(run, profile.files.performance, model, scenario, profile)
    if tree.division != "open":
        findings += compliance_findings(
            base / tree.compliance_root(system, model.name, scenario), model, scenario, profile
        )
    return findings
