"""Export ResNet50 v1.5 with RANDOM weights (seed 0) to ONNX in MLPerf's signature, for speed figures only.

MLPerf's trained resnet50_v1.onnx cannot be downloaded on our machines (only PyPI and Debian are reachable), so the
INT8-vs-fp32 throughput of ResNet50 on ONNX Runtime is measured on the real architecture (harness/backends/pytorch/
models.py: 25.6 M parameters, about 4.1 GMAC an image) with random weights. Its accuracy means nothing; the accuracy
figures come from the synthetic classifier (speed/ort_int8/README.md).

    .venv/bin/python speed/ort_int8/export_resnet50.py OUT.onnx
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from harness.backends.pytorch.models import ResNet50


def main(out: Path) -> None:
    torch.manual_seed(0)
    model = ResNet50().eval()
    example = torch.zeros(1, 3, 224, 224)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        model,
        (example,),
        str(out),
        input_names=["input_tensor:0"],
        output_names=["ArgMax:0"],
        dynamic_axes={"input_tensor:0": {0: "N"}, "ArgMax:0": {0: "N"}},
        opset_version=17,
        dynamo=False,  # the TorchScript exporter: the dynamo one needs onnxscript, which the test venv lacks
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
