"""Compare a re-run with the result it reproduces (pure): settings and seeds equal, accuracy exactly equal (the line
and every record of the accuracy log), performance within a tolerance with the same validity."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

# Default tolerances on a performance figure, in percent, from the run-to-run noise measured on the demo (six 2-second
# runs each on an idle 2-core VM, docs/RUN.md, "Reproducing a result"): Offline throughput spread 8.5 % (5,961-6,469
# samples/s), SingleStream p90 latency 53 % (0.183-0.280 ms: a 2 s run's tail on a shared VM). Throughput gets 15 %;
# latency percentiles 60 %. Full-length runs on a dedicated system are far steadier: pass --tolerance to tighten.
DEFAULT_TOLERANCE_PCT = 15.0
DEFAULT_LATENCY_TOLERANCE_PCT = 60.0


def default_tolerance(metric: str) -> float:
    """The default for a figure: latency percentiles (LoadGen names them in ns) are noisier than throughput."""
    return DEFAULT_LATENCY_TOLERANCE_PCT if "latency" in metric.lower() else DEFAULT_TOLERANCE_PCT


@dataclass(frozen=True)
class Check:
    what: str
    original: str
    reproduced: str
    ok: bool
    note: str = ""


@dataclass(frozen=True)
class Comparison:
    unit: str
    checks: tuple[Check, ...]
    tolerance_pct: float
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def reproduced(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def first_difference(self) -> Check | None:
        return next((check for check in self.checks if not check.ok), None)

    def as_json(self) -> str:
        data = {"unit": self.unit, "reproduced": self.reproduced, "tolerance_pct": self.tolerance_pct}
        data["checks"] = [asdict(check) for check in self.checks]
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    def as_markdown(self) -> str:
        verdict = "reproduced" if self.reproduced else f"DIFFERS: {_describe(self.first_difference)}"
        rows = [
            f"| {c.what} | {c.original} | {c.reproduced} | {'yes' if c.ok else 'NO'} | {c.note} |" for c in self.checks
        ]
        return "\n".join(
            [f"# Reproduction of `{self.unit}`", "", verdict, "",
             "| check | original | reproduced | same | note |", "| --- | --- | --- | --- | --- |", *rows, ""]
        )  # fmt: skip


def settings_check(original: dict[str, Any], reproduced: dict[str, Any]) -> Check:
    """The run's spec, less how the host happened to start it (image reference, user): every setting equal."""
    ignored = ("run_info",)
    first = {k: v for k, v in original.items() if k not in ignored}
    second = {k: v for k, v in reproduced.items() if k not in ignored}
    differing = sorted(k for k in set(first) | set(second) if first.get(k) != second.get(k))
    return Check("settings", "recorded spec", "new spec", not differing, ", ".join(differing))


def seeds_check(original: dict[str, Any], reproduced: dict[str, Any]) -> Check:
    first, second = original.get("seeds") or {}, reproduced.get("seeds") or {}
    return Check("LoadGen seeds", _short(first), _short(second), bool(first) and first == second)


def verdicts_check(original: dict[str, str], reproduced: dict[str, str]) -> Check:
    """A compliance test's verifications (verify_*.txt -> TEST PASS/FAIL): the same verdict for each."""
    differing = sorted(k for k in set(original) | set(reproduced) if original.get(k) != reproduced.get(k))
    shown = ", ".join(f"{k}: {v}" for k, v in sorted(original.items())) or "-"
    again = ", ".join(f"{k}: {v}" for k, v in sorted(reproduced.items())) or "-"
    return Check("verification", shown, again, bool(original) and not differing, ", ".join(differing))


def accuracy_checks(
    original_line: str | None,
    reproduced_line: str | None,
    original_log: list[dict[str, Any]] | None,
    reproduced_log: list[dict[str, Any]] | None,
) -> list[Check]:
    checks = [Check("accuracy", original_line or "-", reproduced_line or "-", original_line == reproduced_line)]
    if original_log is None:
        checks.append(Check("accuracy log", "not kept", "-", False, "the original full log is gone"))
        return checks
    first, second = _records(original_log), _records(reproduced_log or [])
    differing = sum(1 for a, b in zip(first, second, strict=False) if a != b) + abs(len(first) - len(second))
    note = "" if not differing else f"{differing} record(s) differ"
    checks.append(Check("accuracy log records", str(len(first)), str(len(second)), differing == 0, note))
    return checks


def performance_checks(
    metric: str,
    original: float | None,
    reproduced: float | None,
    original_validity: str,
    reproduced_validity: str,
    tolerance_pct: float,
) -> list[Check]:
    checks = [Check("validity", original_validity, reproduced_validity, original_validity == reproduced_validity)]
    if original is None or reproduced is None or original == 0:
        checks.append(Check(metric or "metric", str(original), str(reproduced), False, "no figure to compare"))
        return checks
    change = (reproduced - original) / original * 100
    within = abs(change) <= tolerance_pct
    note = f"{change:+.1f}% (tolerance ±{tolerance_pct:g}%)"
    checks.append(Check(metric, f"{original:,.2f}", f"{reproduced:,.2f}", within, note))
    return checks


def _records(log: list[dict[str, Any]]) -> list[tuple[int, str]]:
    # The order LoadGen logged them in depends on threads; the records are the (sample, answer) pairs.
    return sorted((int(entry["qsl_idx"]), str(entry["data"])) for entry in log)


def _short(seeds: dict[str, Any]) -> str:
    return ", ".join(f"{k.removesuffix('_rng_seed')}={v}" for k, v in sorted(seeds.items())) or "-"


def _describe(check: Check | None) -> str:
    if check is None:
        return ""
    return f"{check.what}: {check.original} -> {check.reproduced}" + (f" ({check.note})" if check.note else "")
