"""The text files written next to LoadGen's logs, and the facts read back from LoadGen's summary and detail log.

Pure functions of their inputs: the run writes what these return.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from harness.backends.base import BackendInfo
from harness.contract import Figures

_LINE = re.compile(r"^\s*(?P<key>[^:]+?)\s*:\s*(?P<value>\S.*?)\s*$")
_MLLOG = ":::MLLOG "
_NS_PER_MS = 1e6


@dataclass(frozen=True)
class SummaryResult:
    """The headline of mlperf_log_summary.txt: validity and the scenario's metric."""

    validity: str  # "VALID", "INVALID", or "" where LoadGen states none (accuracy mode)
    metric: str  # e.g. "Samples per second", "90.0th percentile latency (ns)"
    value: float | None

    def describe(self) -> str:
        if self.value is None:
            return "no performance figure (accuracy run)"
        if self.metric.endswith("(ns)"):
            return f"{self.metric.removesuffix('(ns)').strip()}: {self.value / 1e6:.3f} ms"
        return f"{self.metric}: {self.value:g}"


def parse_summary(text: str) -> SummaryResult:
    """Validity and the metric LoadGen prints just above `Result is :` (samples/s or a latency in ns)."""
    lines = text.splitlines()
    for number, line in enumerate(lines):
        match = _LINE.match(line)
        if match and match["key"] == "Result is":
            previous = _LINE.match(lines[number - 1]) if number else None
            if previous and _is_number(previous["value"]):
                return SummaryResult(match["value"], previous["key"], float(previous["value"]))
            return SummaryResult(match["value"], "", None)
    return SummaryResult("", "", None)


def parse_detail(text: str) -> dict[str, object]:
    """The last value of each key of an mlperf_log_detail.txt (one `:::MLLOG {json}` record a line); a line LoadGen
    cut off is skipped."""
    values: dict[str, object] = {}
    for line in text.splitlines():
        if line.startswith(_MLLOG):
            try:
                record = json.loads(line[len(_MLLOG) :])
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict):
                values[str(record.get("key"))] = record.get("value")
    return values


def performance_figures(detail: str, scenario: str) -> Figures:
    """The performance figures LoadGen logged in a detail log (its text), in the record's units: latencies in ms,
    rates as logged. A figure LoadGen did not log (an accuracy run's log has none) stays None; validity, metric and
    value are the summary's (`parse_summary`), left empty here.

    MultiStream's latencies are per query (`result_*_query_latency_ns`), the figures its summary states; the keys
    of the other scenarios serve where a LoadGen logs no per-query keys."""
    values = parse_detail(detail)
    per_query = scenario == "MultiStream"

    def latency(stat: str) -> float | None:  # "mean", "min", "max"
        keys = (f"result_{stat}_query_latency_ns",) if per_query else ()
        return _ms(_first_number(values, (*keys, f"result_{stat}_latency_ns")))

    def percentile(p: str) -> float | None:  # as LoadGen writes it: "50.00", "99.90"
        keys = (f"result_{p}_percentile_per_query_latency_ns",) if per_query else ()
        return _ms(_first_number(values, (*keys, f"result_{p}_percentile_latency_ns")))

    def rate(*keys: str) -> float | None:
        return _first_number(values, keys)

    return Figures(
        mean_ms=latency("mean"),
        min_ms=latency("min"),
        max_ms=latency("max"),
        p50_ms=percentile("50.00"),
        p90_ms=percentile("90.00"),
        p95_ms=percentile("95.00"),
        p97_ms=percentile("97.00"),
        p99_ms=percentile("99.00"),
        p99_9_ms=percentile("99.90"),
        samples_per_second=rate("result_samples_per_second", "result_completed_samples_per_sec"),  # Offline, Server
        scheduled_samples_per_second=rate("result_scheduled_samples_per_sec"),  # Server
        qps_with_loadgen_overhead=rate("result_qps_with_loadgen_overhead"),  # SingleStream
        qps_without_loadgen_overhead=rate("result_qps_without_loadgen_overhead"),  # SingleStream
    )


def _first_number(values: dict[str, object], keys: tuple[str, ...]) -> float | None:
    """The value of the first of `keys` logged as a number (bool is not one)."""
    for key in keys:
        value = values.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return None


def _ms(nanoseconds: float | None) -> float | None:
    return None if nanoseconds is None else nanoseconds / _NS_PER_MS


def measurements_json(model_file: str, info: BackendInfo) -> str:
    """The per-scenario `<system>_<impl>_<Scenario>.json` that the submission checker requires."""
    fields = {
        "input_data_types": info.precision,
        "retraining": "no",
        "starting_weights_filename": model_file,
        "weight_data_types": info.precision,
        "weight_transformations": "none",
    }
    return json.dumps(fields, indent=2, sort_keys=True) + "\n"


def measurements_readme(
    benchmark: str,
    scenario: str,
    mode: str,
    command: str,
    info: BackendInfo,
    run_info: object | None,
    benchmark_options: dict[str, object] | None = None,
) -> str:
    """How this scenario was run: the exact command, the benchmark's options (defaults included), the runtime and
    the container options."""
    parts = [
        f"# {benchmark} {scenario}\n",
        f"Last written by the harness in {mode} mode. Reproduce that run with:\n",
        f"```\n{command}\n```\n",
    ]
    if benchmark_options:
        parts += ["## Benchmark options\n", "".join(f"- {k}: {v}\n" for k, v in sorted(benchmark_options.items()))]
    parts += ["## Runtime\n", _runtime_lines(info)]
    if run_info is not None:
        parts += ["## Run options\n", f"```json\n{json.dumps(run_info, indent=2, sort_keys=True)}\n```\n"]
    return "\n".join(parts)


def code_readme(benchmark: str, impl: str, info: BackendInfo, preprocessing: str) -> str:
    """What the implementation `impl` is, for code/<benchmark>/<impl>/README.md."""
    return "\n".join(
        [
            f"# {benchmark}: {impl}\n",
            "Run by `python -m harness run` (mlperf-submission-builder): MLPerf LoadGen drives a",
            "batching SUT; samples are preprocessed once into a cache and held in memory during the",
            "timed run.\n",
            f"Preprocessing: `{preprocessing}`.\n",
            "## Runtime\n",
            _runtime_lines(info),
        ]
    )


def _runtime_lines(info: BackendInfo) -> str:
    lines = [
        f"- backend: {info.backend} {info.version}",
        f"- device: {info.device}",
        f"- precision: {info.precision}",
    ]
    lines += [f"- {key}: {value}" for key, value in sorted(info.details.items())]
    return "\n".join(lines) + "\n"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
