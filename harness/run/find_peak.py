"""`python -m harness find-peak`: the best LoadGen setting of a scenario, found with short performance trials.

Each trial is a `python -m harness run --mode performance` in its own process (LoadGen applies its built-in
config only once per process) writing into a scratch folder outside the submission tree. The setting searched
is the one LoadGen needs from the user: target QPS (Offline, Server) or expected latency (SingleStream,
MultiStream). Validity is monotone in it, seen as a rate (QPS, or 1 / latency):
  Offline, SingleStream, MultiStream: LoadGen generates too few samples for the minimum duration when the rate
    is below the system's, so runs are VALID from the system's rate upwards: the peak is the lowest VALID rate;
  Server: the latency bound breaks above the system's rate: the peak is the highest VALID rate.
The search brackets that boundary, using the measured figure of each trial to guess the next, and narrows it
to `TOLERANCE`; the answer is always a value whose trial was VALID.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from harness.contract import RECORD_FILE, SPEC_FILE, RunSpec, record_from_json, to_json

TOLERANCE = 0.10  # stop once the VALID and INVALID sides are within 10 %
_STEP = 4.0  # growth (or shrink) factor while only one side of the boundary is known
_DEFAULT_START = {"Offline": 10.0, "Server": 10.0, "SingleStream": 10.0, "MultiStream": 50.0}
_MEAN_LATENCY = re.compile(r"^Mean latency \(ns\)\s*:\s*(\d+(?:\.\d*)?)\s*$", re.MULTILINE)
_SAMPLES_PER_SECOND = re.compile(r"^(?:Completed )?[Ss]amples per second\s*:\s*(\S+)\s*$", re.MULTILINE)
_CONSTRAINTS = re.compile(r"^\s*Performance constraints satisfied\s*:\s*(\S+)\s*$", re.MULTILINE)
_UNMET = re.compile(r"^\s*(\S.*?)\s*satisfied\s*:\s*NO\s*$", re.MULTILINE)
_VALIDITY = re.compile(r"^Result is\s*:\s*(\S+)\s*$", re.MULTILINE)


class PeakSearchError(RuntimeError):
    """No VALID value was found, or a trial could not run; the message says which and what to try."""


@dataclass(frozen=True)
class Trial:
    """One trial: the value tried, LoadGen's verdict and the figure measured (samples/s, or mean latency ms)."""

    value: float
    valid: bool
    measured: float | None
    too_short: bool = False  # Server: INVALID although the latency bound held (too few queries)
    unmet: tuple[str, ...] = ()  # LoadGen's "... satisfied : NO" conditions


@dataclass(frozen=True)
class Peak:
    setting: str  # "target_qps" or "target_latency_ms"
    value: float
    trials: tuple[Trial, ...]

    def as_json(self) -> dict[str, object]:
        return {"setting": self.setting, "value": self.value, "trials": [asdict(trial) for trial in self.trials]}


def setting_of(scenario: str) -> str:
    return "target_qps" if scenario in ("Offline", "Server") else "target_latency_ms"


def start_value(scenario: str, given: float | None) -> float:
    return _rounded(given if given is not None else _DEFAULT_START[scenario])


def next_value(scenario: str, trials: Sequence[Trial]) -> float | None:
    """The value of the next trial, or None when the search is done (bracketed within TOLERANCE)."""
    if not trials:
        raise ValueError("next_value needs at least one trial")
    rate_of = _rate_converter(scenario)
    rate = _next_server_rate(trials) if scenario == "Server" else _next_upward_rate(scenario, trials)
    return None if rate is None else _rounded(rate_of(rate))  # the conversion is its own inverse


def _next_upward_rate(scenario: str, trials: Sequence[Trial]) -> float | None:
    """Offline, SingleStream, MultiStream: VALID from the system's rate upwards; find the lowest VALID rate."""
    rate_of = _rate_converter(scenario)
    valid = [rate_of(trial.value) for trial in trials if trial.valid]
    good = min(valid) if valid else None
    below = [
        rate_of(trial.value) for trial in trials if not trial.valid and (good is None or rate_of(trial.value) < good)
    ]
    bad = max(below) if below else None
    # Each run measures the system's own rate (even a run too short to be VALID): the best next guess.
    measured = _measured_rate(scenario, trials[-1])
    if trials[-1].valid and measured is not None and _within(measured, rate_of(trials[-1].value)):
        return None  # the VALID target is within TOLERANCE of what the system did
    if good is not None and bad is not None:
        if good <= bad * (1 + TOLERANCE):
            return None
        tried = [rate_of(trial.value) for trial in trials]
        fresh = measured is not None and measured > bad and not any(_within(measured, rate) for rate in tried)
        return measured if fresh else math.sqrt(good * bad)
    if good is not None:
        return measured if measured is not None and not _within(measured, good) else good / _STEP
    assert bad is not None
    return measured * (1 + TOLERANCE) if measured is not None and measured > bad else bad * _STEP


def _next_server_rate(trials: Sequence[Trial]) -> float | None:
    """Server: VALID up to the rate where the latency bound breaks; find the highest VALID rate.

    A run that kept the latency bound but was INVALID anyway was too short (too few queries for early
    stopping): it says the rate may go up.
    """
    keeps_bound = [trial.value for trial in trials if trial.valid or trial.too_short]
    lower = max(keeps_bound) if keeps_bound else None
    breaks = [trial.value for trial in trials if not trial.valid and not trial.too_short]
    above = [value for value in breaks if lower is None or value > lower]
    upper = min(above) if above else None
    if lower is not None and upper is not None:
        if upper <= lower * (1 + TOLERANCE):
            return None
        return math.sqrt(lower * upper)
    if lower is not None:
        return lower * _STEP
    assert upper is not None
    return upper / _STEP


def search(
    scenario: str, start: float, max_trials: int, run_trial: Callable[[float], Trial], report: Callable[[str], None]
) -> Peak:
    """Trials until the boundary is bracketed or `max_trials` ran; the answer is the best VALID value."""
    setting = setting_of(scenario)
    trials: list[Trial] = []
    value: float | None = start
    while value is not None and len(trials) < max_trials:
        trial = run_trial(value)
        trials.append(trial)
        shown = "no figure" if trial.measured is None else f"measured {trial.measured:g}"
        verdict = "VALID" if trial.valid else "INVALID"
        if trial.unmet:
            verdict += ": " + ", ".join(f"{condition} not met" for condition in trial.unmet)
        report(f"trial {len(trials)}: {setting}={_text(value)} -> {verdict} ({shown})")
        value = next_value(scenario, trials)
    valid = [trial.value for trial in trials if trial.valid]
    if not valid:
        tried = ", ".join(_text(trial.value) for trial in trials)
        unmet = ", ".join(trials[-1].unmet) or "none stated"
        raise PeakSearchError(
            f"no VALID run in {len(trials)} trials ({setting} tried: {tried}; unmet in the last: {unmet}); "
            f"raise --max-trials, pass a starting --{setting.replace('_', '-')} nearer the system's figure, or "
            "lengthen the trials with --min-duration-ms where early stopping or the duration was not met"
        )
    if scenario == "Server":
        best = max(valid)
    else:
        # The tightest VALID setting: the one nearest the figure its own run measured.
        best = min((trial for trial in trials if trial.valid), key=lambda trial: _misfit(scenario, trial)).value
    return Peak(setting, best, tuple(trials))


def read_trial(value: float, scenario: str, summary_text: str) -> Trial:
    """A trial's verdict and figure from its mlperf_log_summary.txt."""
    validity = _VALIDITY.search(summary_text)
    valid = validity is not None and validity[1] == "VALID"
    bound = _CONSTRAINTS.search(summary_text)
    if scenario in ("Offline", "Server"):
        figure = _SAMPLES_PER_SECOND.search(summary_text)
        measured = float(figure[1]) if figure else None
    else:
        latency = _MEAN_LATENCY.search(summary_text)
        measured = float(latency[1]) / 1e6 if latency else None
    too_short = not valid and bound is not None and bound[1] == "Yes"
    unmet = tuple(match[1] for match in _UNMET.finditer(summary_text))
    return Trial(value=value, valid=valid, measured=measured, too_short=too_short, unmet=unmet)


def format_peak(peak: Peak) -> str:
    return f"peak: {peak.setting}={_text(peak.value)}"


def _within(first: float, second: float) -> bool:
    return max(first, second) <= min(first, second) * (1 + TOLERANCE)


def _misfit(scenario: str, trial: Trial) -> float:
    """How far a trial's setting is from its measured figure, as a ratio (1 = exact; inf = nothing measured)."""
    measured = _measured_rate(scenario, trial)
    if measured is None:
        return math.inf
    rate = _rate_converter(scenario)(trial.value)
    return max(measured, rate) / min(measured, rate)


def _measured_rate(scenario: str, trial: Trial) -> float | None:
    if trial.measured is None or trial.measured <= 0:
        return None
    return _rate_converter(scenario)(trial.measured)


def _rate_converter(scenario: str) -> Callable[[float], float]:
    """QPS stays as is; a latency in ms becomes queries per ms (and back: 1/x is its own inverse)."""
    if scenario in ("Offline", "Server"):
        return lambda value: value
    return lambda value: 1.0 / value


def _rounded(value: float) -> float:
    # Six significant digits: the value printed, written to user.conf and tried are then the same number.
    return float(f"{value:.6g}")


def _text(value: float) -> str:
    return f"{value:.6g}"


def subprocess_trial(spec: RunSpec, scratch: Path) -> Callable[[float], Trial]:
    """A `run_trial` that runs `spec` with the searched setting at each value, each trial a
    `python -m harness run --spec FILE` in its own process writing into its own folder under `scratch` (which the
    caller removes); the trial's record names the summary it reads."""
    setting = setting_of(spec.scenario)
    flag = "--" + setting.replace("_", "-")

    def run_trial(value: float) -> Trial:
        output = scratch / f"trial-{len(list(scratch.glob('trial-*'))) + 1}"
        output.mkdir()
        loadgen = replace(spec.loadgen, **{setting: float(value)})  # type: ignore[arg-type]  # a float setting
        trial = replace(spec, output=str(output), loadgen=loadgen, system_json=None)
        spec_file, record_file = output / SPEC_FILE, output / RECORD_FILE
        spec_file.write_text(to_json(trial))
        command = [sys.executable, "-m", "harness", "run", "--spec", str(spec_file)]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if not record_file.is_file():
            lines = result.stderr.strip().splitlines() or [f"exit status {result.returncode}"]
            raise PeakSearchError(f"trial with {flag} {_text(value)} failed: {lines[-1].removeprefix('error: ')}")
        record = record_from_json(record_file.read_text(), str(record_file))
        if not record.placed:
            raise PeakSearchError(f"trial with {flag} {_text(value)} failed: {record.message}")
        summary = output / record.units[0] / "mlperf_log_summary.txt"
        return read_trial(value, spec.scenario, summary.read_text())

    return run_trial
