"""The text files written next to LoadGen's logs, and the facts read back from LoadGen's summary.

Pure functions of their inputs: the run writes what these return.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from harness.backends.base import BackendInfo

_LINE = re.compile(r"^\s*(?P<key>[^:]+?)\s*:\s*(?P<value>\S.*?)\s*$")


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
