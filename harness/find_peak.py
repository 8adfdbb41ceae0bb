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
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

TOLERANCE = 0.10  # stop once the VALID and INVALID sides are within 10 %
_STEP = 4.0  # growth (or shrink) factor while only one side of the boundary is known
_DEFAULT_START = {"Offline": 10.0, "Server": 10.0, "SingleStream": 10.0, "MultiStream": 50.0}
_MEAN_LATENCY = re.compile(r"^Mean latency \(ns\)\s*:\s*(\d+(?:\.\d*)?)\s*$", re.MULTILINE)
_SAMPLES_PER_SECOND = re.compile(r"^(?:Completed )?[Ss]amples per second\s*:\s*(\S+)\s*$", re.MULTILINE)
_VALIDITY = re.compile(r"^Result is\s*:\s*(\S+)\s*$", re.MULTILINE)


class PeakSearchError(RuntimeError):
    """No VALID value was found, or a trial could not run; the message says which and what to try."""


@dataclass(frozen=True)
class Trial:
    """One trial: the value tried, LoadGen's verdict and the figure measured (samples/s, or mean latency ms)."""

    value: float
    valid: bool
    measured: float | None


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
    """The value of the next trial, or None when the boundary is bracketed within TOLERANCE."""
    rate_of = _rate_converter(scenario)
    upward = scenario != "Server"  # True: VALID from the boundary upwards
    valid = [rate_of(trial.value) for trial in trials if trial.valid]
    invalid = [rate_of(trial.value) for trial in trials if not trial.valid]
    if upward:
        good = min(valid) if valid else None
        below = [rate for rate in invalid if good is None or rate < good]
        bad = max(below) if below else None
    else:
        good = max(valid) if valid else None
        above = [rate for rate in invalid if good is None or rate > good]
        bad = min(above) if above else None
    if good is not None and bad is not None:
        if max(good, bad) <= min(good, bad) * (1 + TOLERANCE):
            return None
        rate = math.sqrt(good * bad)
    elif good is not None:
        measured = _measured_rate(scenario, trials[-1]) if trials[-1].valid else None
        if upward and measured is not None:
            # The system's own rate, measured in a VALID run: close enough means the target fits it.
            if measured * (1 + TOLERANCE) >= good:
                return None
            rate = measured
        else:
            rate = good / _STEP if upward else good * _STEP
    elif bad is not None:
        measured = _measured_rate(scenario, trials[-1])
        if upward and measured is not None and measured > bad:
            rate = measured * (1 + TOLERANCE)  # the short INVALID run still measured the system's rate
        else:
            rate = bad * _STEP if upward else bad / _STEP
    else:
        raise ValueError("next_value needs at least one trial")
    return _rounded(rate_of(rate))  # the conversion is its own inverse


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
        report(f"trial {len(trials)}: {setting}={_text(value)} -> {verdict} ({shown})")
        value = next_value(scenario, trials)
    valid = [trial.value for trial in trials if trial.valid]
    if not valid:
        tried = ", ".join(_text(trial.value) for trial in trials)
        raise PeakSearchError(
            f"no VALID run in {len(trials)} trials ({setting} tried: {tried}); raise --max-trials, or pass a "
            f"starting --{setting.replace('_', '-')} nearer the system's figure"
        )
    rate_of = _rate_converter(scenario)
    best = min(valid, key=rate_of) if scenario != "Server" else max(valid, key=rate_of)
    return Peak(setting, best, tuple(trials))


def read_trial(value: float, scenario: str, summary_text: str) -> Trial:
    """A trial's verdict and figure from its mlperf_log_summary.txt."""
    validity = _VALIDITY.search(summary_text)
    if scenario in ("Offline", "Server"):
        figure = _SAMPLES_PER_SECOND.search(summary_text)
        measured = float(figure[1]) if figure else None
    else:
        latency = _MEAN_LATENCY.search(summary_text)
        measured = float(latency[1]) / 1e6 if latency else None
    return Trial(value=value, valid=bool(validity) and validity[1] == "VALID", measured=measured)


def format_peak(peak: Peak) -> str:
    return f"peak: {peak.setting}={_text(peak.value)}"


def summary_path(scratch: Path, result_dir: Path) -> Path:
    return scratch / result_dir / "mlperf_log_summary.txt"


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


def subprocess_trial(
    command: Sequence[str], scenario: str, scratch: Path, result_dir: Path, min_duration_ms: int
) -> Callable[[float], Trial]:
    """A `run_trial` that starts `command` (a `python -m harness run ...` without the searched setting) per value.

    Each trial writes into its own folder under `scratch`, which the caller removes.
    """
    flag = "--" + setting_of(scenario).replace("_", "-")

    def run_trial(value: float) -> Trial:
        output = scratch / f"trial-{len(list(scratch.glob('trial-*'))) + 1}"
        arguments = [*command, "--output", str(output), flag, _text(value), "--min-duration-ms", str(min_duration_ms)]
        result = subprocess.run(arguments, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            lines = result.stderr.strip().splitlines() or [f"exit status {result.returncode}"]
            raise PeakSearchError(f"trial with {flag} {_text(value)} failed: {lines[-1].removeprefix('error: ')}")
        summary = summary_path(output, result_dir)
        if not summary.is_file():
            raise PeakSearchError(f"trial with {flag} {_text(value)} wrote no {summary}")
        return read_trial(value, scenario, summary.read_text())

    return run_trial
