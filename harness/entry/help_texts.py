"""The help texts of `python -m harness`: descriptions, epilogs and the exit-status lines, which come from the
contract's tables (harness.contract) so the words beside a status cannot drift from the status the code returns."""

from __future__ import annotations

from collections.abc import Mapping

from harness.benchmarks.registry import BENCHMARKS, option_values
from harness.contract import Exit

DESCRIPTION = """\
MLPerf Inference harness: runs one benchmark scenario under MLPerf LoadGen and writes the results into
an MLPerf submission tree in the round's layout (--round). See `run --help` and `find-peak --help` for the options.
"""
RUN_EPILOG = """\
results (moved into place only when the run completed; an interrupted run leaves nothing behind), v5.x rounds:
  OUTPUT/closed/SUBMITTER/systems/SYSTEM.json                                 (with --system-json)
  OUTPUT/closed/SUBMITTER/code/BENCHMARK/IMPL/README.md
  OUTPUT/closed/SUBMITTER/measurements/SYSTEM/BENCHMARK/SCENARIO/{user.conf,README.md,SYSTEM_IMPL_SCENARIO.json}
  OUTPUT/closed/SUBMITTER/results/SYSTEM/BENCHMARK/SCENARIO/performance/run_1/   (--mode performance)
  OUTPUT/closed/SUBMITTER/results/SYSTEM/BENCHMARK/SCENARIO/accuracy/            (--mode accuracy)
  OUTPUT/closed/SUBMITTER/compliance/SYSTEM/BENCHMARK/SCENARIO/TEST/             (--compliance TEST, only this)
v6.x rounds: src/ instead of code/, and a scenario's files in its results folder:
  OUTPUT/closed/SUBMITTER/src/BENCHMARK/IMPL/README.md
  OUTPUT/closed/SUBMITTER/results/SYSTEM/BENCHMARK/SCENARIO/{user.conf,README.md,measurements.json}
  OUTPUT/closed/SUBMITTER/results/SYSTEM/BENCHMARK/SCENARIO/{performance/run_1,accuracy,TEST}/

compliance tests (--mode performance --compliance TEST01|TEST04 --audit-config FILE):
  LoadGen runs in a private working folder holding FILE as audit.config; the run is verified against the
  submission's own results (performance/run_1, and for TEST01 accuracy/mlperf_log_accuracy.json), which must
  be in OUTPUT already. A failed verification places its files all the same (exit status below).

example:
  python -m harness run --benchmark resnet50 --scenario Offline --mode accuracy \\
      --dataset /data/imagenet --model /models/resnet50_v1.onnx --backend onnxruntime \\
      --output /out --submitter ACME --system acme_server_cpu
"""


CALIBRATE_EPILOG = """\
the spec (JSON) names: benchmark, backend {name, device, batch_size, threads, options}, dataset, model,
calibration_list, calibration_dataset, output, method (onnxruntime: minmax, entropy, percentile; tensorrt: entropy),
gate_samples, gate_fraction. It writes into OUTPUT the artefact (onnxruntime: MODEL.int8.onnx, a QDQ model; tensorrt:
MODEL.calib, the calibration cache) and record.json (hashes, method, tool versions, both accuracies).
"""


PEAK_EPILOG = """\
Each trial is a `python -m harness run` performance run into a scratch folder outside OUTPUT (removed
afterwards); the preprocessed-sample cache is shared with OUTPUT's. Nothing is written into OUTPUT/closed.
The last line printed is `peak: target_qps=VALUE` (Offline, Server) or `peak: target_latency_ms=VALUE`
(SingleStream, MultiStream), a value whose trial LoadGen reported VALID.
For Server, --target-latency-ms is the latency bound and --target-qps the first value tried (e.g. the Offline
peak); for the other scenarios the flag of the searched setting gives the first value tried.
"""


def exit_lines(meanings: Mapping[Exit, str]) -> str:
    """The help's exit-status lines, from the contract's table of what each status means (harness.contract)."""
    return "\nexit status:\n" + "".join(f"  {int(code):<4}{meanings[code]}\n" for code in sorted(meanings))


def options_taken() -> str:
    """Which benchmarks take which options (from their declarations), for --help: "yolo-95, yolo-99:
    padding=square|minimal"."""
    takers: dict[str, list[str]] = {}
    for name in BENCHMARKS:
        options = [
            f"{key}={'|'.join(map(str, values))}" if values else key for key, values in option_values(name).items()
        ]
        if options:
            takers.setdefault(", ".join(options), []).append(name)
    return "; ".join(f"{', '.join(names)}: {options}" for options, names in takers.items()) or "none take any"
