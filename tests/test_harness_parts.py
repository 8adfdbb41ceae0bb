"""Harness parts a run relies on: preprocessing, scoring, user.conf, summary, staging, batching."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from harness.backends.registry import UnknownBackendError, get_backend
from harness.benchmarks.area_resize import area_resize_window
from harness.benchmarks.base import Sample
from harness.benchmarks.registry import UnknownBenchmarkError, get_benchmark
from harness.benchmarks.resnet50 import ResNet50
from harness.contract import Figures, LoadGenSettings
from harness.contract.layout import ResultLayout
from harness.loadgen.sut import ServerSUT
from harness.loadgen.userconf import render_user_conf
from harness.results.loadgen_logs import parse_summary, performance_figures
from harness.results.staging import STAGING_DIR, Staging, remove_stale

RED, BLUE = (200, 10, 10), (10, 10, 200)
MEANS = np.array([123.68, 116.78, 103.94], dtype=np.float32)


def test_preprocessing_resizes_the_shorter_side_to_256_and_crops_the_centre(tmp_path: Path) -> None:
    # 300x150, red left half, blue right half: resized to 512x256, the crop spans columns 144..368,
    # so the red/blue edge (column 256) sits at crop column 112.
    pixels = np.empty((150, 300, 3), dtype=np.uint8)
    pixels[:, :150], pixels[:, 150:] = RED, BLUE
    path = tmp_path / "split.png"  # lossless, so values are exact
    Image.fromarray(pixels).save(path)
    out = ResNet50().preprocess(Sample(0, path, "split.png"))
    assert out.shape == (3, 224, 224) and out.dtype == np.float32
    left, right = out[:, :, :110], out[:, :, 114:]
    np.testing.assert_allclose(left, np.broadcast_to((np.array(RED) - MEANS)[:, None, None], left.shape))
    np.testing.assert_allclose(right, np.broadcast_to((np.array(BLUE) - MEANS)[:, None, None], right.shape))


def test_area_resize_at_half_size_is_the_rounded_mean_of_each_2x2_block() -> None:
    image = np.random.default_rng(0).integers(0, 256, size=(512, 512, 3), dtype=np.uint8)
    out = area_resize_window(image, (256, 256), (16, 16, 224, 224))
    blocks = image.astype(np.float64).reshape(256, 2, 256, 2, 3).mean(axis=(1, 3))
    np.testing.assert_array_equal(out, np.rint(blocks[16:240, 16:240]).astype(np.float32))


def test_postprocess_turns_mlperf_argmax_into_float32_imagenet_labels() -> None:
    payloads = ResNet50().postprocess([np.array([1, 1000, 66], dtype=np.int64)], [0, 1, 2])
    assert [np.frombuffer(p, dtype=np.float32)[0] for p in payloads] == [0.0, 999.0, 65.0]
    scores = np.zeros((1, 1001), dtype=np.float32)
    scores[0, 5] = 1.0
    (payload,) = ResNet50().postprocess([scores], [0])
    assert np.frombuffer(payload, dtype=np.float32)[0] == 4.0


def test_accuracy_counts_each_sample_once_and_words_it_like_the_official_script(tmp_path: Path) -> None:
    (tmp_path / "val_map.txt").write_text("a.JPEG 3\nb.JPEG 7\nc.JPEG 9\n")

    def entry(index: int, label: float) -> dict[str, object]:
        return {"seq_id": index, "qsl_idx": index, "data": np.float32(label).tobytes().hex().upper()}

    log = tmp_path / "mlperf_log_accuracy.json"
    log.write_text(json.dumps([entry(0, 3), entry(1, 1), entry(0, 5), entry(2, 9)]))
    samples = [Sample(i, tmp_path / k, k) for i, k in enumerate(["a.JPEG", "b.JPEG", "c.JPEG"])]
    report = ResNet50().accuracy(log, tmp_path, samples)
    assert report.line == "accuracy=66.667%, good=2, total=3"


def test_user_conf_holds_only_the_settings_given() -> None:
    text = render_user_conf(
        "resnet50", "Server", LoadGenSettings(target_qps=1500.0, min_duration_ms=1000, target_latency_ms=12.5)
    )
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    assert lines == [
        "resnet50.Server.target_qps = 1500",
        "resnet50.Server.target_latency = 12.5",
        "resnet50.Server.min_duration = 1000",
    ]


def test_summary_gives_validity_and_the_scenario_metric() -> None:
    text = (
        "Scenario : SingleStream\nMode     : PerformanceOnly\n90.0th percentile latency (ns) : 2500000\n"
        "Result is : VALID\n  Min duration satisfied : Yes\n"
    )
    result = parse_summary(text)
    assert (result.validity, result.value) == ("VALID", 2500000.0)
    assert result.describe() == "90.0th percentile latency: 2.500 ms"


def _detail_log(*records: tuple[str, object]) -> str:
    return "".join(f":::MLLOG {json.dumps({'key': k, 'value': v, 'metadata': {}})}\n" for k, v in records)


def test_multistream_latencies_are_per_query_and_what_loadgen_did_not_log_stays_empty() -> None:
    """Real runs: tests/test_harness_run.py checks every scenario's figures against LoadGen's summary."""
    text = _detail_log(
        ("result_99.00_percentile_latency_ns", 1_000_000),
        ("result_99.00_percentile_per_query_latency_ns", 4_000_000),
        ("result_mean_latency_ns", 500_000),
        ("result_qps_with_loadgen_overhead", True),  # not a number
    )
    text += ':::MLLOG {"key": "result_90.00_percentile_latency_ns", "val'  # a line LoadGen cut off
    multi = performance_figures(text, "MultiStream")
    assert (multi.p99_ms, multi.mean_ms, multi.p90_ms, multi.qps_with_loadgen_overhead) == (4.0, 0.5, None, None)
    assert performance_figures(text, "Server").p99_ms == 1.0
    assert performance_figures("", "Offline") == Figures()


def test_layout_follows_the_v51_tree() -> None:
    layout = ResultLayout("ACME", "sys", "resnet50", "Server", "onnxruntime-cpu")
    assert layout.result_dir("performance") == Path("closed/ACME/results/sys/resnet50/Server/performance/run_1")
    assert layout.measurements_json_name == "sys_onnxruntime-cpu_Server.json"
    with pytest.raises(ValueError, match="mode"):
        layout.result_dir("compliance")


def test_commit_replaces_an_older_result_as_a_whole(tmp_path: Path) -> None:
    old = tmp_path / "closed" / "r"
    old.mkdir(parents=True)
    (old / "stale.txt").write_text("from an earlier run")
    staging = Staging.open(tmp_path)
    (staging.path / "closed" / "r").mkdir(parents=True)
    (staging.path / "closed" / "r" / "new.txt").write_text("this run")
    staging.commit([Path("closed/r")])
    assert sorted(p.name for p in old.iterdir()) == ["new.txt"]
    assert not (tmp_path / STAGING_DIR).exists()


def test_a_running_runs_staging_folder_is_not_taken_for_stale(tmp_path: Path) -> None:
    live = Staging.open(tmp_path)
    dead = tmp_path / STAGING_DIR / "dead-run"
    dead.mkdir()
    removed = remove_stale(tmp_path / STAGING_DIR, keep="someone-else")
    assert removed == [dead]
    assert live.path.exists()
    live.discard()


def test_server_workers_batch_what_is_waiting_up_to_the_batch_size() -> None:
    batches: list[list[int]] = []
    lock = threading.Lock()

    class Recorder:
        def answer(self, batch: list[int]) -> None:
            with lock:
                batches.append(list(batch))

    sut = ServerSUT(Recorder(), batch_size=4, workers=1)  # type: ignore[arg-type]
    sut.issue_query(list(range(10)))  # type: ignore[arg-type]
    sut.start()
    sut.stop()
    assert batches == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_registries_name_the_valid_choices() -> None:
    with pytest.raises(UnknownBenchmarkError, match="resnet50"):
        get_benchmark("bert")
    with pytest.raises(UnknownBackendError, match="onnxruntime"):
        get_backend(
            "tvm", benchmark="resnet50", device="cpu", precision="fp32", threads=None, output_names=(), options={}
        )
