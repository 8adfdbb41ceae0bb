"""The PyTorch backend's CUDA paths (graphs, padding, pinned staging, device postprocessing) on a real GPU.

Skipped where PyTorch sees no CUDA device (CI); run on the lent H100.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from harness.backends.pytorch.backend import PyTorchBackend
from harness.backends.pytorch.options import PyTorchOptions

pytestmark = [pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


def spec(tmp_path: Path, architecture: str) -> Path:
    path = tmp_path / f"{architecture}.json"
    path.write_text(json.dumps({"architecture": architecture, "weights": None, "seed": 0}))
    return path


def test_graph_replay_with_padded_partial_batches_equals_eager(tmp_path: Path) -> None:
    batch = np.random.default_rng(0).normal(0, 60, (4, 3, 224, 224)).astype(np.float32)
    graphed = PyTorchBackend(
        benchmark="resnet50", device="cuda", precision="fp32", options=PyTorchOptions(cuda_graphs=True)
    )
    eager = PyTorchBackend(
        benchmark="resnet50", device="cuda", precision="fp32", options=PyTorchOptions(cuda_graphs=False)
    )
    for backend in (graphed, eager):
        backend.load(spec(tmp_path, "resnet50"))
    graphed.warmup(batch)
    np.testing.assert_array_equal(graphed.infer(batch)[0], eager.infer(batch)[0])
    np.testing.assert_array_equal(graphed.infer(batch[:3])[0], eager.infer(batch[:3])[0])  # padded to 4
    assert graphed.info().details["graphs_captured"] == "4"
    assert graphed.info().device.startswith("cuda:0 (NVIDIA")


def test_detection_outputs_have_the_benchmark_shapes_on_the_gpu(tmp_path: Path) -> None:
    backend = PyTorchBackend(benchmark="ssd-resnet34", device="cuda", output_names=("bboxes", "labels", "scores"))
    backend.load(spec(tmp_path, "ssd-resnet34"))
    boxes, labels, scores = backend.infer(np.random.default_rng(0).random((2, 3, 1200, 1200), dtype=np.float32))
    assert boxes.shape == (2, 200, 4) and labels.shape == (2, 200) and scores.shape == (2, 200)
    assert boxes.dtype == np.float32 and labels.dtype == np.int64
    assert np.all(np.diff(scores, axis=1) <= 0)  # best first, zero padding last
    kept = scores > 0
    assert np.all((labels[kept] >= 1) & (labels[kept] <= 80))


def discriminating_resnet50(tmp_path: Path) -> Path:
    """A random ResNet50 whose answers differ between flat images of different colours.

    With random weights every input gets the same class (the features share one large positive part); centring
    each class's weights over the features cancels that part, so a wrong sample shows as a wrong class.
    """
    from harness.backends.pytorch.models import ResNet50 as Net
    from harness.backends.pytorch.models import init_random

    net = Net()
    init_random(net, 0)
    with torch.no_grad():
        net.fc.weight -= net.fc.weight.mean(dim=1, keepdim=True)
        net.fc.bias.zero_()
    torch.save(net.state_dict(), tmp_path / "resnet50-centred.pt")
    path = tmp_path / "resnet50-centred.json"
    path.write_text(json.dumps({"architecture": "resnet50", "weights": str(tmp_path / "resnet50-centred.pt")}))
    return path


def flat_images(count: int, seed: int) -> np.ndarray:
    colours = np.random.default_rng(seed).integers(0, 256, (count, 3, 1, 1))
    return np.ascontiguousarray(np.broadcast_to(colours, (count, 3, 224, 224)).astype(np.uint8))


def _resident(tmp_path: Path, batch: int, model: Path | None = None, **options: object) -> tuple[PyTorchBackend, list]:  # type: ignore[type-arg]
    from harness.benchmarks.resnet50 import ResNet50

    backend = PyTorchBackend(
        benchmark="resnet50",
        device="cuda",
        precision="fp32",
        options=PyTorchOptions(**options),  # type: ignore[arg-type]
    )
    backend.load(model or spec(tmp_path, "resnet50"))
    workers = backend.resident_workers(ResNet50.compact_form, (3, 224, 224), batch)
    assert workers is not None
    return backend, workers


def test_resident_samples_expand_on_the_gpu_to_the_host_preprocessing_bit_for_bit(tmp_path: Path) -> None:
    from harness.benchmarks.base import expand
    from harness.benchmarks.resnet50 import ResNet50

    compact = np.random.default_rng(1).integers(0, 256, (4, 3, 224, 224)).astype(np.uint8)
    _, (worker,) = _resident(tmp_path, 4, channels_last=False)
    on_gpu = worker.expand(torch.from_numpy(compact).cuda()).cpu().numpy()
    np.testing.assert_array_equal(on_gpu, expand(ResNet50.compact_form, compact, channel_axis=1))


def test_resident_graphs_on_two_streams_answer_as_the_host_path(tmp_path: Path) -> None:
    from harness.benchmarks.base import expand
    from harness.benchmarks.resnet50 import ResNet50

    compact = flat_images(10, seed=2)
    model = discriminating_resnet50(tmp_path)
    host = PyTorchBackend(benchmark="resnet50", device="cuda", precision="fp32",
                          options=PyTorchOptions(resident=False, cuda_graphs=False))  # fmt: skip
    host.load(model)
    expected = host.infer(expand(ResNet50.compact_form, compact, channel_axis=1))[0]
    assert len(set(expected.tolist())) > 1, "the samples must get different answers, or a wrong slot goes unseen"
    backend, workers = _resident(tmp_path, 4, model, streams=2, workers_per_device=2)
    assert len(workers) == 2 and backend.info().details["resident_workers"] == "cuda:0-0,cuda:0-1"
    slots = np.arange(10)[::-1].copy()  # slot s holds sample 9 - s
    for worker in workers:
        worker.store(slots, compact)
        assert worker.device_bytes() == compact.nbytes  # uint8: 150,528 bytes a sample
    # Three batches in flight on worker 0's two streams and one on worker 1, taken in launch order.
    launched = [
        workers[n % 2].launch(np.array(batch)) for n, batch in enumerate([[9, 8, 7, 6], [5, 4], [3, 2, 1], [0]])
    ]
    answers = np.concatenate([item.result()[0] for item in launched])
    np.testing.assert_array_equal(answers, expected)
    # The lanes again with other slots: the slots' copy in is captured in each graph, so a replay must read the
    # lane's index buffer as written for this launch, not as it was at capture or at the last launch.
    again = [workers[0].launch(np.array([0, 1, 2])), workers[0].launch(np.array([9])), workers[1].launch(slots[:4])]
    np.testing.assert_array_equal(again[0].result()[0], expected[[9, 8, 7]])
    np.testing.assert_array_equal(again[1].result()[0], expected[[0]])
    np.testing.assert_array_equal(again[2].result()[0], expected[:4])


def test_a_batch_too_big_for_the_gpu_is_named_with_the_largest_that_fits(tmp_path: Path) -> None:
    from harness.backends.base import BackendError

    free, _ = torch.cuda.mem_get_info()
    too_big = 1 << int(np.ceil(np.log2(free / (224 * 224 * 3 * 4 * 4))))  # activations far beyond the free memory
    with pytest.raises(BackendError, match=rf"batch size {too_big} does not fit the memory of cuda:0 .* the largest"):
        _resident(tmp_path, too_big, cuda_graphs=False)


def test_yolo_graphs_in_fp16_match_eager_fp32_and_other_sizes_get_their_own(tmp_path: Path) -> None:
    """yolo-99's output0 from CUDA graphs in fp16 against eager fp32; a minimal-padding size is captured apart."""
    model = spec(tmp_path, "yolo11l")
    graphed = PyTorchBackend(benchmark="yolo-99", device="cuda", precision="fp16", output_names=("output0",))
    eager = PyTorchBackend(
        benchmark="yolo-99",
        device="cuda",
        precision="fp32",
        output_names=("output0",),
        options=PyTorchOptions(cuda_graphs=False),
    )
    for backend in (graphed, eager):
        backend.load(model)
    batch = np.random.default_rng(0).random((2, 3, 640, 640), dtype=np.float32)
    graphed.warmup(batch)
    (fast,) = graphed.infer(batch)
    (exact,) = eager.infer(batch)
    assert fast.shape == exact.shape == (2, 84, 8400) and fast.dtype == np.float32
    np.testing.assert_allclose(fast[:, :4], exact[:, :4], rtol=0.02, atol=1.0)  # boxes, input pixels
    np.testing.assert_allclose(fast[:, 4:], exact[:, 4:], atol=0.01)  # scores
    (smaller,) = graphed.infer(batch[:1, :, :480])  # a 640x480 image's minimal letterbox
    assert smaller.shape == (1, 84, 6300)
    assert graphed.info().details["graphs_captured"] == "1x3x480x640,2x3x640x640"
