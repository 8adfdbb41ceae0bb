"""`python -m harness run` end to end on the host: real LoadGen, real ONNX Runtime, synthetic ImageNet.

Each run is its own process, as in the image: LoadGen applies its built-in mlperf.conf only once per process.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from dataclasses import fields, replace
from pathlib import Path

import onnx
import pytest

from harness.contract import Figures, Outcome, record_from_json, to_json
from harness.entry import flags
from msb.synthetic.imagenet import write_dataset, write_model
from tests.support import REPO

COUNT = 18


# Short performance runs: LoadGen then reports INVALID (too short), which is fine for these tests.
SHORT = ["--min-duration-ms", "200", "--min-query-count", "40", "--threads", "1"]


SUBMISSION = Path("closed") / "ACME"


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("synthetic")
    write_dataset(root / "dataset", COUNT)
    write_dataset(root / "flipped", COUNT, flip=5)
    write_model(root / "model.onnx")
    return root


def harness(*args: str | Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", *map(str, args), *_as_caller(args)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_args(
    synthetic: Path, output: Path, scenario: str = "Offline", mode: str = "accuracy", **paths: Path
) -> list[str | Path]:
    return [
        "run",
        "--benchmark=resnet50",
        f"--scenario={scenario}",
        f"--mode={mode}",
        "--dataset",
        paths.get("dataset", synthetic / "dataset"),
        "--model",
        paths.get("model", synthetic / "model.onnx"),
        "--backend=onnxruntime",
        "--output",
        output,
        "--submitter=ACME",
        "--system=host_cpu",
    ]


def scenario_dir(output: Path, scenario: str) -> Path:
    return output / SUBMISSION / "results" / "host_cpu" / "resnet50" / scenario


def assert_clean_failure(result: subprocess.CompletedProcess[str], output: Path, names: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert names in result.stderr
    assert not (output / "closed").exists()


def test_accuracy_run_scores_the_synthetic_set_at_100_percent_in_the_official_wording(
    synthetic: Path, tmp_path: Path
) -> None:
    result = harness(*run_args(synthetic, tmp_path), "--record", tmp_path / "record.json")
    assert result.returncode == 0, result.stderr
    accuracy_dir = scenario_dir(tmp_path, "Offline") / "accuracy"
    figures = record_from_json((tmp_path / "record.json").read_text()).figures
    assert figures.accuracy == f"accuracy=100.000%, good={COUNT}, total={COUNT}"
    assert figures == Figures(accuracy=figures.accuracy)  # no performance figure in an accuracy run
    line = (accuracy_dir / "accuracy.txt").read_text().strip()
    assert line == f"accuracy=100.000%, good={COUNT}, total={COUNT}"
    assert f"accuracy: {line}" in result.stdout
    for name in ("mlperf_log_summary.txt", "mlperf_log_detail.txt", "mlperf_log_accuracy.json"):
        assert (accuracy_dir / name).is_file()
    # Payloads as tools/accuracy-imagenet.py reads them: one float32 label per unique sample.
    entries = json.loads((accuracy_dir / "mlperf_log_accuracy.json").read_text())
    assert sorted({entry["qsl_idx"] for entry in entries}) == list(range(COUNT))
    assert all(len(bytes.fromhex(entry["data"])) == 4 for entry in entries)


@pytest.mark.parametrize("scenario", ["SingleStream", "MultiStream", "Server", "Offline"])
def test_flipped_labels_lower_accuracy_to_exactly_the_expected_figure_in_every_scenario(
    synthetic: Path, tmp_path: Path, scenario: str
) -> None:
    # Any mix-up of responses and samples (batching, the Server queue) would change the figure.
    args = run_args(synthetic, tmp_path, scenario, dataset=synthetic / "flipped")
    result = harness(*args, "--target-qps=1000", "--batch-size=4")
    assert result.returncode == 0, result.stderr
    line = (scenario_dir(tmp_path, scenario) / "accuracy" / "accuracy.txt").read_text().strip()
    assert line == f"accuracy={100 * (COUNT - 5) / COUNT:.3f}%, good={COUNT - 5}, total={COUNT}"


def test_count_limits_the_run_to_the_first_samples(synthetic: Path, tmp_path: Path) -> None:
    result = harness(*run_args(synthetic, tmp_path, dataset=synthetic / "flipped"), "--count=7")
    assert result.returncode == 0, result.stderr
    line = (scenario_dir(tmp_path, "Offline") / "accuracy" / "accuracy.txt").read_text().strip()
    assert line == "accuracy=28.571%, good=2, total=7"
    user_conf = tmp_path / SUBMISSION / "measurements" / "host_cpu" / "resnet50" / "Offline" / "user.conf"
    assert "resnet50.Offline.performance_sample_count_override = 7" in user_conf.read_text()


def test_offline_performance_run_fills_the_v51_layout(synthetic: Path, tmp_path: Path) -> None:
    system_json = tmp_path / "system.json"
    system_json.write_text(json.dumps({"system_name": "host"}))
    run_info = json.dumps({"docker_run": ["--cpus=2"]})
    args = [*run_args(synthetic, tmp_path / "exp", mode="performance"), *SHORT, "--target-qps=400"]
    result = harness(*args, "--system-json", system_json, "--run-info-json", run_info)
    assert result.returncode == 0, result.stderr
    exp = tmp_path / "exp" / SUBMISSION

    summary = scenario_dir(tmp_path / "exp", "Offline") / "performance" / "run_1" / "mlperf_log_summary.txt"
    validity = re.search(r"Result is : (VALID|INVALID)", summary.read_text())
    assert validity is not None
    assert re.search(rf"Samples per second: [\d.]+ \[{validity[1]}\]", result.stdout)
    assert (summary.parent / "mlperf_log_detail.txt").is_file()

    measurements = exp / "measurements" / "host_cpu" / "resnet50" / "Offline"
    fields = json.loads((measurements / "host_cpu_onnxruntime-cpu_Offline.json").read_text())
    assert set(fields) >= {
        "starting_weights_filename",
        "weight_transformations",
        "weight_data_types",
        "input_data_types",
        "retraining",
    }
    user_conf = (measurements / "user.conf").read_text()
    assert "resnet50.Offline.target_qps = 400" in user_conf
    assert "resnet50.Offline.min_duration = 200" in user_conf
    readme = (measurements / "README.md").read_text()
    assert "python -m harness run --benchmark=resnet50 --scenario=Offline --mode=performance" in readme
    assert "--cpus=2" in readme
    assert (exp / "code" / "resnet50" / "onnxruntime-cpu" / "README.md").is_file()
    assert json.loads((exp / "systems" / "host_cpu.json").read_text()) == {"system_name": "host"}
    # Shared through the experiment's group: everything written is group-writable.
    assert os.stat(summary).st_mode & stat.S_IWGRP
    assert not (tmp_path / "exp" / ".staging").exists()


@pytest.mark.parametrize(
    ("scenario", "extra", "metric"),
    [
        ("SingleStream", [], r"90.0th percentile latency: [\d.]+ ms"),
        ("MultiStream", ["--samples-per-query=4"], r"99.0th percentile latency: [\d.]+ ms"),
        ("Server", ["--target-qps=200", "--batch-size=4"], r"Completed samples per second: [\d.]+"),
        ("Offline", ["--target-qps=400"], r"Samples per second: [\d.]+"),
    ],
)
def test_every_scenario_completes_a_short_performance_run_and_records_loadgens_figures(
    synthetic: Path, tmp_path: Path, scenario: str, extra: list[str], metric: str
) -> None:
    record_path = tmp_path / "record.json"
    result = harness(*run_args(synthetic, tmp_path, scenario, "performance"), *SHORT, *extra, "--record", record_path)
    assert result.returncode == 0, result.stderr
    assert re.search(rf"{metric} \[(VALID|INVALID)\]", result.stdout), result.stdout
    summary = scenario_dir(tmp_path, scenario) / "performance" / "run_1" / "mlperf_log_summary.txt"
    # The record's figures (read from the detail log) are those LoadGen printed in its summary, which it writes apart.
    figures = record_from_json(record_path.read_text()).figures
    recorded = {name: getattr(figures, name) for name in PERFORMANCE_FIGURES if getattr(figures, name) is not None}
    printed = summary_figures(summary.read_text())
    assert recorded == pytest.approx(printed, rel=1e-4)  # the summary rounds rates to 2 decimals
    assert set(recorded) >= set(PERFORMANCE_FIGURES[:9])  # every scenario has its latencies
    assert set(PERFORMANCE_FIGURES) == {f.name for f in fields(Figures)} - {"validity", "metric", "value", "accuracy"}


# The summary's lines (its headline and "Additional Stats") holding the record's performance figures.
SUMMARY_FIGURES = {
    "Mean latency (ns)": "mean_ms",
    "Min latency (ns)": "min_ms",
    "Max latency (ns)": "max_ms",
    "50.00 percentile latency (ns)": "p50_ms",
    "90.00 percentile latency (ns)": "p90_ms",
    "95.00 percentile latency (ns)": "p95_ms",
    "97.00 percentile latency (ns)": "p97_ms",
    "99.00 percentile latency (ns)": "p99_ms",
    "99.90 percentile latency (ns)": "p99_9_ms",
    "Samples per second": "samples_per_second",
    "Completed samples per second": "samples_per_second",
    "Scheduled samples per second": "scheduled_samples_per_second",
    "QPS w/ loadgen overhead": "qps_with_loadgen_overhead",
    "QPS w/o loadgen overhead": "qps_without_loadgen_overhead",
}


PERFORMANCE_FIGURES = tuple(dict.fromkeys(SUMMARY_FIGURES.values()))


def summary_figures(text: str) -> dict[str, float]:
    figures = {}
    for line in text.splitlines():
        key, colon, value = (part.strip() for part in line.partition(":"))
        if colon and key in SUMMARY_FIGURES:
            figures[SUMMARY_FIGURES[key]] = float(value) / 1e6 if key.endswith("(ns)") else float(value)
    return figures


def test_second_run_reads_preprocessed_samples_from_the_cache(synthetic: Path, tmp_path: Path) -> None:
    first = harness(*run_args(synthetic, tmp_path))
    assert f"samples: {COUNT} ({COUNT} preprocessed now" in first.stdout
    cached = sorted((tmp_path / ".cache" / "preprocessed").rglob("*.npy"))
    assert len(cached) == COUNT
    stamps = [path.stat().st_mtime_ns for path in cached]
    second = harness(*run_args(synthetic, tmp_path))
    assert second.returncode == 0, second.stderr
    assert f"samples: {COUNT} (0 preprocessed now" in second.stdout
    assert [path.stat().st_mtime_ns for path in cached] == stamps


def test_corrupt_jpeg_is_named(synthetic: Path, tmp_path: Path) -> None:
    dataset = tmp_path / "dataset"
    write_dataset(dataset, 4)
    broken = dataset / "ILSVRC2012_val_00000003.JPEG"
    broken.write_bytes(b"\xff\xd8 not really a jpeg")
    result = harness(*run_args(synthetic, tmp_path / "exp", dataset=dataset))
    assert_clean_failure(result, tmp_path / "exp", str(broken))


def test_missing_dataset_is_named(synthetic: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dataset"
    result = harness(*run_args(synthetic, tmp_path / "exp", dataset=missing))
    assert_clean_failure(result, tmp_path / "exp", str(missing))


def test_empty_dataset_directory_is_refused(synthetic: Path, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = harness(*run_args(synthetic, tmp_path / "exp", dataset=tmp_path / "empty"))
    assert_clean_failure(result, tmp_path / "exp", "val_map.txt is missing")


def test_a_file_that_is_not_onnx_is_refused_as_model(synthetic: Path, tmp_path: Path) -> None:
    model = tmp_path / "model.onnx"
    model.write_text("this is not a protobuf")
    result = harness(*run_args(synthetic, tmp_path / "exp", model=model))
    assert_clean_failure(result, tmp_path / "exp", f"cannot load {model} as an ONNX model")


def test_a_model_with_another_input_shape_is_refused_before_the_run(synthetic: Path, tmp_path: Path) -> None:
    model = onnx.load(str(synthetic / "model.onnx"))
    for axis in (2, 3):
        model.graph.input[0].type.tensor_type.shape.dim[axis].dim_value = 299
    other = tmp_path / "inception-shaped.onnx"
    onnx.save(model, str(other))
    result = harness(*run_args(synthetic, tmp_path / "exp", model=other))
    assert_clean_failure(result, tmp_path / "exp", "pass a model with the benchmark's input signature")


def test_an_output_path_that_cannot_be_a_folder_is_refused(synthetic: Path, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    result = harness(*run_args(synthetic, tmp_path / "a-file" / "exp"))
    assert_clean_failure(result, tmp_path / "a-file" / "exp", "cannot write to the output directory")


def test_an_option_the_backend_does_not_have_is_named(synthetic: Path, tmp_path: Path) -> None:
    result = harness(*run_args(synthetic, tmp_path / "exp"), "--backend-option=engine_dir=/x")
    assert_clean_failure(result, tmp_path / "exp", "the onnxruntime backend has no option 'engine_dir'")


def test_cuda_without_a_cuda_provider_is_an_error_not_a_cpu_run(synthetic: Path, tmp_path: Path) -> None:
    result = harness(*run_args(synthetic, tmp_path / "exp"), "--device=cuda")
    assert_clean_failure(result, tmp_path / "exp", "--device cuda asks for CUDA")


def test_unknown_backend_lists_the_valid_ones(synthetic: Path, tmp_path: Path) -> None:
    result = harness(*run_args(synthetic, tmp_path / "exp"), "--backend=tvm")
    assert_clean_failure(result, tmp_path / "exp", "choose from 'onnxruntime'")


def test_failure_midway_through_loadgen_leaves_no_partial_result(synthetic: Path, tmp_path: Path) -> None:
    # A model fixed to batches of 8: warm-up passes, the last (partial) batch of the test fails.
    model = onnx.load(str(synthetic / "model.onnx"))
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 8
    fixed = tmp_path / "fixed-batch.onnx"
    onnx.save(model, str(fixed))
    output = tmp_path / "exp"
    result = harness(*run_args(synthetic, output, model=fixed), "--batch-size=8")
    assert_clean_failure(result, output, "inference failed during the LoadGen test")
    assert not (output / ".staging").exists()


def test_sigterm_during_the_run_leaves_no_partial_result(synthetic: Path, tmp_path: Path) -> None:
    output = tmp_path / "exp"
    args = [*run_args(synthetic, output, mode="performance"), "--min-duration-ms=60000", "--threads=1"]
    process = subprocess.Popen(
        [sys.executable, "-m", "harness", *map(str, args), *_as_caller(tuple(args))],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not list((output / ".staging").glob("*/loadgen/mlperf_log_detail.txt")):
        assert time.monotonic() < deadline and process.poll() is None, "LoadGen never started"
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 143
    assert "interrupted by SIGTERM" in stderr
    assert not (output / "closed").exists()
    assert not (output / ".staging").exists()


def test_a_stale_staging_folder_is_removed_by_the_next_run(synthetic: Path, tmp_path: Path) -> None:
    stale = tmp_path / ".staging" / "20250101T000000-1-abcdef"
    (stale / "closed").mkdir(parents=True)
    (stale / "closed" / "partial.txt").write_text("left by a killed run")
    result = harness(*run_args(synthetic, tmp_path))
    assert result.returncode == 0, result.stderr
    assert not stale.exists()
    assert not (tmp_path / "closed" / "partial.txt").exists()


def _as_caller(args: tuple[str | Path, ...]) -> list[str]:
    """CI runs as root, which the harness refuses unless told: runs here say so."""
    asks_run = bool(args) and args[0] in ("run", "find-peak") and "--help" not in args and "--spec" not in args
    return ["--allow-root"] if asks_run and os.geteuid() == 0 else []


def test_the_record_names_what_was_placed_and_what_it_was_made_from(synthetic: Path, tmp_path: Path) -> None:
    record_path = tmp_path / "record.json"
    result = harness(*run_args(synthetic, tmp_path / "exp", mode="performance"), "--record", record_path)
    assert result.returncode == 0, result.stderr
    record = record_from_json(record_path.read_text())
    assert record.outcome is Outcome.PLACED and record.figures.validity in ("VALID", "INVALID")
    assert record.units[0] == "closed/ACME/results/host_cpu/resnet50/Offline/performance/run_1"
    assert all((tmp_path / "exp" / name).is_file() for name in record.files)
    assert record.readme == "closed/ACME/measurements/host_cpu/resnet50/Offline/README.md"
    # What it was made from: every file read, the model, LoadGen's build and the seeds it applied.
    dataset = record.provenance["dataset"]
    names = [name for name, _size, _sha in dataset["files"]]
    assert "val_map.txt" in names and len(names) == COUNT + 1
    model = synthetic / "model.onnx"
    assert record.provenance["model"]["sha256"] == hashlib.sha256(model.read_bytes()).hexdigest()
    assert record.provenance["loadgen"]["loadgen_version"].startswith("5.1.2")
    assert record.provenance["loadgen"]["seeds"]["qsl_rng_seed"] == 1780908523862526354


def test_a_loadgen_of_another_round_is_refused_before_it_runs(synthetic: Path, tmp_path: Path) -> None:
    """The spec carries the round's seeds; LoadGen 5.1.2 (this host's) applies v5.1's, not v6.1's."""
    args = flags.build_parser().parse_args([str(a) for a in run_args(synthetic, tmp_path / "exp")])
    spec = replace(
        flags.spec_from_args(args), round="v6.1", seeds={"qsl_rng_seed": 2085463073848966840}, allow_root=True
    )
    spec_file = tmp_path / "run" / "spec.json"
    spec_file.parent.mkdir()
    spec_file.write_text(to_json(spec))
    result = harness("run", "--spec", spec_file)
    assert result.returncode == 2, result.stderr
    assert "qsl_rng_seed=1780908523862526354, not the round's qsl_rng_seed=2085463073848966840" in result.stderr
    assert record_from_json((tmp_path / "run" / "record.json").read_text()).outcome is Outcome.REFUSED
    assert not (tmp_path / "exp" / "closed").exists()


# `--round v6.1` on the host writes the v6 tree. The compliance runs need the round's audit.config files (reference
# data beside the checkout, absent on a clean clone): only the tests of the `experiment` fixture skip without them.
AUDIT = Path("/work/shared/mlperf-reference-data/v6.1/compliance")
COUNT_layout = 16
SCENARIO = "SingleStream"
SHORT_layout = ["--threads=1", "--min-duration-ms=300", "--min-query-count=100", "--target-latency-ms=0.05"]
SUBMITTER = Path("closed") / "ACME"
SCENARIO_DIR = SUBMITTER / "results" / "host_cpu" / "resnet50" / SCENARIO


def harness_layout(output: Path, data: Path, mode: str, *extra: str | Path, round_name: str = "v6.1") -> None:
    args = [
        "run",
        "--benchmark=resnet50",
        f"--scenario={SCENARIO}",
        f"--mode={mode}",
        f"--dataset={data / 'dataset'}",
        f"--model={data / 'model.onnx'}",
        "--backend=onnxruntime",
        f"--output={output}",
        f"--round={round_name}",
        "--submitter=ACME",
        "--system=host_cpu",
        f"--cache-dir={data / 'cache'}",
        *SHORT_layout,
        *map(str, extra),
    ]
    if os.geteuid() == 0:
        args.append("--allow-root")
    result = subprocess.run(
        [sys.executable, "-m", "harness", *args],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    # 3: a compliance test placed but failed verification (shortened runs may); its files are placed all the same.
    assert result.returncode in (0, 3), result.stderr


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("v6")
    write_dataset(root / "dataset", COUNT_layout)
    write_model(root / "model.onnx")
    return root


@pytest.fixture(scope="module")
def experiment(data: Path) -> Path:
    """Accuracy, performance, TEST01 and TEST04 of one scenario, in the order the run matrix does them."""
    if not AUDIT.is_dir():
        pytest.skip("round reference data not present")
    output = data / "experiment"
    system_json = data / "system.json"
    system_json.write_text(json.dumps({"system_name": "host"}))
    harness_layout(output, data, "accuracy", "--system-json", system_json)
    harness_layout(output, data, "performance")
    for test, audit in (("TEST01", AUDIT / "TEST01" / "resnet50"), ("TEST04", AUDIT / "TEST04")):
        harness_layout(output, data, "performance", f"--compliance={test}", f"--audit-config={audit / 'audit.config'}")
    return output


def test_a_scenario_holds_its_description_results_and_compliance_tests(experiment: Path) -> None:
    scenario = experiment / SCENARIO_DIR
    assert sorted(p.name for p in scenario.iterdir()) == [
        "README.md",
        "TEST01",
        "TEST04",
        "accuracy",
        "measurements.json",
        "performance",
        "user.conf",
    ]
    assert (scenario / "README.md").stat().st_size > 0
    assert "resnet50.SingleStream.min_duration = 300" in (scenario / "user.conf").read_text()
    assert set(json.loads((scenario / "measurements.json").read_text())) >= {"weight_data_types", "retraining"}
    assert (scenario / "performance" / "run_1" / "mlperf_log_detail.txt").is_file()
    assert (scenario / "accuracy" / "accuracy.txt").is_file()
    assert (scenario / "TEST01" / "verify_accuracy.txt").is_file()
    assert (scenario / "TEST01" / "accuracy" / "mlperf_log_accuracy.json").is_file()
    assert (scenario / "TEST04" / "verify_performance.txt").is_file()


def test_src_replaces_code_and_no_v5_folder_is_written(experiment: Path) -> None:
    submitter = experiment / SUBMITTER
    assert sorted(p.name for p in submitter.iterdir()) == ["results", "src", "systems"]
    assert (submitter / "src" / "resnet50" / "onnxruntime-cpu" / "README.md").is_file()
    assert json.loads((submitter / "systems" / "host_cpu.json").read_text()) == {"system_name": "host"}
    assert not (experiment / ".staging").exists() or not any((experiment / ".staging").iterdir())


def test_a_rerun_replaces_its_own_files_and_keeps_the_rest(experiment: Path, data: Path, tmp_path: Path) -> None:
    copy = Path(shutil.copytree(experiment, tmp_path / "copy"))
    scenario = copy / SCENARIO_DIR
    before = (scenario / "accuracy" / "mlperf_log_accuracy.json").read_bytes()
    (scenario / "README.md").write_text("stale\n")
    harness_layout(copy, data, "performance")
    assert (scenario / "README.md").read_text() != "stale\n"
    assert (scenario / "accuracy" / "mlperf_log_accuracy.json").read_bytes() == before
    assert (scenario / "TEST01" / "verify_accuracy.txt").is_file()
    assert (scenario / "TEST04" / "verify_performance.txt").is_file()


def test_v51_still_writes_the_v5_tree(data: Path, tmp_path: Path) -> None:
    harness_layout(tmp_path, data, "accuracy", round_name="v5.1")
    submitter = tmp_path / SUBMITTER
    assert sorted(p.name for p in submitter.iterdir()) == ["code", "measurements", "results"]
    assert (
        submitter / "measurements" / "host_cpu" / "resnet50" / SCENARIO / "host_cpu_onnxruntime-cpu_SingleStream.json"
    ).is_file()
