"""Benchmark settings given per scenario (`batch_size:`, `threads:`): one value for every scenario or a mapping
of scenario to value over a `default:`; one type and one parser for both."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from difflib import get_close_matches
from typing import Any, Generic, TypeVar

from harness.contract import SCENARIOS
from msb.descriptions.yamlfile import Where, get_int, shown
from msb.errors import SpecError

SCENARIO_FALLBACK = "default"  # the key of a per-scenario mapping for the scenarios it does not list

# What a per-scenario setting is when neither the scenario nor `default:` gives it: 1 (batch_size), None (threads).
Unset = TypeVar("Unset", int, int | None)


@dataclass(frozen=True)
class PerScenario(Generic[Unset]):
    """A benchmark setting that is a positive whole number per scenario (`batch_size:`, `threads:`): one value for
    every scenario (`batch_size: 8`), or values per scenario (`batch_size: {Offline: 256, Server: 64}`) over a
    fallback for the scenarios not listed (`default:`, else what an absent setting means)."""

    default: Unset
    scenarios: Mapping[str, int] = field(default_factory=dict)

    def of(self, scenario: str) -> int | Unset:
        return self.scenarios.get(scenario, self.default)

    @property
    def largest(self) -> int | Unset:
        """The largest value given: for work of no scenario (INT8 calibration's batches and its accuracy gate)."""
        given = [value for value in (self.default, *self.scenarios.values()) if value is not None]
        return max(given) if given else self.default


@dataclass(frozen=True)
class PerScenarioKey:
    """How a per-scenario setting is named in its errors."""

    key: str
    noun: str  # one value, in words: "size", "count"
    what: str  # the setting, in words: "batch size"
    one: str  # an example of one value for every scenario
    each: str  # an example of a mapping
    absent: str  # what leaving the setting out means, for the fix

    @property
    def forms(self) -> str:
        return (
            f"give one {self.noun} for every scenario ({self.key}: {self.one}) or one per scenario "
            f"({self.key}: {self.each}, with {SCENARIO_FALLBACK}: N for the scenarios not listed){self.absent}"
        )


BATCH_SIZE = PerScenarioKey("batch_size", "size", "batch size", "8", "{Offline: 256, Server: 64}", "")
THREADS = PerScenarioKey(
    "threads", "count", "thread count", "4", "{Offline: 16, Server: 4}", "; leave it out for the runtime's default"
)


def parse_per_scenario(data: dict[str, Any], setting: PerScenarioKey, where: Where, unset: Unset) -> PerScenario[Unset]:
    """A per-scenario setting as a whole number of 1 or more for every scenario, or a mapping (flow or block) of
    scenario to such a number; a blank one, or a blank entry, is as if the line were not there, and the scenarios
    neither listed nor covered by `default:` take `unset`."""
    field_at = where.at(setting.key)
    value = data.get(setting.key)
    if value is None:
        return PerScenario(unset)
    if not isinstance(value, Mapping):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise SpecError(f"{field_at}: expected a whole number of 1 or more, got {shown(value)}", setting.forms)
        return PerScenario(value)
    keys = (*SCENARIOS, SCENARIO_FALLBACK)
    for key in value:
        if key not in keys:
            close = get_close_matches(str(key), keys, 1)
            guess = f" (did you mean {close[0]}?)" if close else ""
            raise SpecError(
                f"{field_at}: {shown(key)} is not a scenario{guess}",
                f"use {', '.join(SCENARIOS)}, or {SCENARIO_FALLBACK} for the scenarios not listed",
            )
    values = {key: get_int(value, key, field_at, None, minimum=1) for key in keys}
    given = {key: number for key, number in values.items() if number is not None}
    if not given:
        raise SpecError(f"{field_at}: a mapping with no {setting.what} in it, got {shown(value)}", setting.forms)
    fallback: int | Unset = given.pop(SCENARIO_FALLBACK, unset)
    return PerScenario(fallback, given)
