"""MLCommons' reference harness (vision/classification_and_detection/python/main.py) on the same GPU, for the ratio.

The reference checkout is given by the user (`--reference DIR`), is never copied into this repository and runs
unmodified in its own process. What we supply is what its command line asks for:
- a pickled module for its `pytorch-native` backend (which `torch.load`s the file and calls the module on a float32
  batch): our network, from its definition (batch norms unfolded: folding is our backend's work), in the same
  precision and memory format as our harness, answering as the reference's post-processing reads:
  - ResNet50 (`resnet50-pytorch`): the scores as the first output, on the host (it takes `argmax(results[0], 1)`);
  - RetinaNet (`retinanet-pytorch`, OpenImages at 800x800): per image a dict of boxes (pixels), labels and scores,
    sorted by score, after the same decode and NMS as our backend (`harness/backends/pytorch/postprocess.py`);
- a user.conf with the run's LoadGen settings, and its own preprocessed cache (its loaders: OpenCV and PIL).
Our synthetic RetinaNet set has the OpenImages layout its loader reads. SSD-ResNet34 is not wired: its COCO
loader (`coco.py`) ends with `np.array(label_list)` over images with different numbers of objects, which NumPy
1.24 and later refuse ("inhomogeneous shape"), so it stops before loading on any current NumPy (tried with 2.4
on our synthetic COCO set, whose images hold one to three objects, as COCO's do).

    python speed/compare_harnesses.py WORK --reference ~/inference --cases resnet50:Offline:256
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from speed.loadgen_figures import run_figures

REPO = Path(__file__).resolve().parents[1]
MAIN = Path("vision/classification_and_detection/python/main.py")


class ReferenceResNet50(nn.Module):
    """What the reference's pytorch-native backend calls: float32 NCHW in, (scores,) on the host out."""

    def __init__(self, precision: str, seed: int = 0) -> None:
        super().__init__()
        from harness.backends.pytorch.models import ResNet50

        torch.manual_seed(seed)
        self.dtype = _DTYPES[precision]
        self.net = ResNet50().to(self.dtype).to(memory_format=torch.channels_last).eval()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor]:
        # The reference's loader normalises as torchvision does: the network without our input conversion (which
        # takes MLPerf's mean-subtracted 0-255 input), and the scores, not our argmax, for its post-processing.
        x = x.to(self.dtype).contiguous(memory_format=torch.channels_last)
        features = self.net.avgpool(self.net.stages(x)[-1])
        return (self.net.fc(torch.flatten(features, 1)).float().cpu(),)


class ReferenceRetinaNet(nn.Module):
    """RetinaNet for the reference's pytorch-native backend: [{boxes, labels, scores}] per image out."""

    anchors: torch.Tensor

    def __init__(self, precision: str, seed: int = 0) -> None:
        super().__init__()
        from harness.backends.pytorch.models import RetinaNet, init_random
        from harness.benchmarks.detection.anchors import retinanet_anchors

        net = RetinaNet()
        init_random(net, seed)
        self.dtype = _DTYPES[precision]
        self.net = net.to(self.dtype).to(memory_format=torch.channels_last).eval()
        anchor_set = retinanet_anchors(800)
        self.per_level = tuple(anchor_set.per_level)
        self.register_buffer("anchors", torch.from_numpy(anchor_set.boxes), persistent=False)

    def forward(self, x: torch.Tensor) -> list[dict[str, torch.Tensor]]:
        from harness.backends.pytorch.postprocess import retinanet_detections

        cls_logits, bbox_regression = self.net(x.to(self.dtype).contiguous(memory_format=torch.channels_last))
        boxes, labels, scores = retinanet_detections(cls_logits, bbox_regression, self.anchors, self.per_level, 800)
        # Invalid slots score -1 and sort last; the reference stops at the first score under its threshold.
        return [{"boxes": b, "labels": label, "scores": s} for b, label, s in zip(boxes, labels, scores, strict=True)]


_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}
# Our benchmark name -> the module the reference is given and its profile there.
WIRED: dict[str, tuple[type[nn.Module], str]] = {
    "resnet50": (ReferenceResNet50, "resnet50-pytorch"),
    "retinanet": (ReferenceRetinaNet, "retinanet-pytorch"),
}


def check_checkout(reference: Path) -> Path:
    main = reference / MAIN
    if not main.is_file():
        raise SystemExit(f"--reference {reference}: no {MAIN} there; give a checkout of mlcommons/inference")
    return main


def prepare_model(work: Path, name: str, precision: str) -> Path:
    path = work / "reference" / f"{name}-{precision}.pt"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(WIRED[name][0](precision), path)
    return path


@dataclass(frozen=True)
class ReferenceRun:
    """One performance run of the reference's main.py: what its command line and user.conf are given."""

    profile: str  # one of its SUPPORTED_PROFILES, e.g. resnet50-pytorch, resnet50-onnxruntime
    model_name: str  # its name for the benchmark in user.conf (resnet50, retinanet)
    backend: str
    model: Path
    dataset: Path
    scenario: str
    batch: int
    threads: int  # its Python worker threads
    run_ms: int
    out: Path
    qps: float | None = None
    min_queries: int = 1
    performance_samples: int = 1024
    dataset_list: Path | None = None  # its --dataset-list (OpenImages: the annotations file)
    pythonpath: tuple[Path, ...] = ()  # after its own modules: what its model or loader imports
    env: tuple[tuple[str, str], ...] = ()


def run_main(reference: Path, spec: ReferenceRun) -> dict[str, Any]:
    """Run the reference harness once; the same figures as ours, from its summary."""
    main = check_checkout(reference.resolve())
    spec.out.mkdir(parents=True, exist_ok=True)
    conf = spec.out / "user.conf"
    conf.write_text(
        f"{spec.model_name}.{spec.scenario}.target_qps = {spec.qps or 6000}\n"
        f"{spec.model_name}.{spec.scenario}.target_latency = 1\n"
        f"{spec.model_name}.{spec.scenario}.min_query_count = {spec.min_queries}\n"
    )
    command = [
        sys.executable, str(main), "--profile", spec.profile, "--backend", spec.backend, "--model", str(spec.model),
        "--dataset-path", str(spec.dataset), "--cache_dir", str(spec.out.parent.parent / "cache"),
        "--output", str(spec.out), "--scenario", spec.scenario, "--threads", str(spec.threads),
        "--max-batchsize", str(spec.batch), "--time", str(max(1, spec.run_ms // 1000)),
        "--performance-sample-count", str(spec.performance_samples), "--user_conf", str(conf),
    ]  # fmt: skip
    if spec.qps:
        command += ["--qps", str(int(spec.qps))]
    if spec.dataset_list:
        command += ["--dataset-list", str(spec.dataset_list)]
    # Its own modules (dataset, backend, ...) first; what this process's PYTHONPATH has (OpenCV, say) last.
    inherited = [os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else []
    path = os.pathsep.join([str(main.parent), *map(str, spec.pythonpath), *inherited])
    env = {**os.environ, **dict(spec.env), "PYTHONPATH": path}
    started = time.perf_counter()
    result = subprocess.run(command, cwd=main.parent.parent, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    summary = spec.out / "mlperf_log_summary.txt"
    if result.returncode != 0 or not summary.exists():
        return {"error": (result.stderr or result.stdout)[-2000:], "wall_s": wall}
    return {**run_figures(spec.out, spec.scenario), "wall_s": wall, "command": " ".join(command[1:])}


def run(
    reference: Path,
    work: Path,
    name: str,
    dataset: Path,
    scenario: str,
    batch: int,
    precision: str,
    run_ms: int,
    threads: int,
    samples: int,
    qps: float | None = None,
) -> dict[str, Any]:
    """The reference's pytorch-native backend with our `name` network pickled for it (see WIRED)."""
    # Its OpenImages loader takes the images' folder and the annotations file apart.
    listed = (dataset / "validation" / "data", dataset / "annotations" / "openimages-mlperf.json")
    images, dataset_list = listed if name == "retinanet" else (dataset, None)
    spec = ReferenceRun(
        profile=WIRED[name][1], model_name=name, backend="pytorch-native", model=prepare_model(work, name, precision),
        dataset=images, dataset_list=dataset_list, scenario=scenario, batch=batch, threads=threads, run_ms=run_ms,
        qps=qps,
        out=work / "reference" / "out" / f"{name}-{scenario}-{batch}-{qps or ''}",
        min_queries=1024 if scenario == "SingleStream" else 1, performance_samples=samples, pythonpath=(REPO,),
    )  # fmt: skip
    return run_main(reference, spec)
