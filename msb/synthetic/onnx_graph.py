"""What every synthetic ONNX model shares: a small graph builder and one way to check and save the model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

IR_VERSION = 8  # readable by every onnxruntime since 1.10


class Graph:
    """A few helpers over onnx.helper so a synthetic model reads as a list of steps."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []

    def const(self, name: str, value: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(value, name))
        return name

    def op(self, op_type: str, inputs: list[str], output: str, **attrs: Any) -> str:
        self.nodes.append(helper.make_node(op_type, inputs, [output], **attrs))
        return output


def save_model(path: Path, graph: onnx.GraphProto, opset: int = 18) -> Path:
    """Check `graph` as a model of the default domain at `opset` and write it to `path` (folders created)."""
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="msb.synthetic")
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path
