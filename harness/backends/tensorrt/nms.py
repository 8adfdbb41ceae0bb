"""Where non-maximum suppression runs: on the GPU in TensorRT's EfficientNMS_TRT plugin, or on the host.

"host" leaves the engine's raw (boxes, scores) outputs to the benchmark's postprocessing. "gpu" appends the
plugin to the network at build time; its fields come from here (pure) so they are recorded in the engine key.
Thresholds are the MLPerf reference models' own: RetinaNet keeps scores > 0.05, IoU 0.5, 300 detections an
image (torchvision's defaults it was trained with); SSD-ResNet34 keeps scores > 0.05, IoU 0.5, 200 an image.

The plugin takes decoded boxes (N, boxes, 4) and per-class scores (N, boxes, classes): the ONNX model must end
in those (SSD-ResNet34 with its softmax applied, since score_activation is only a sigmoid).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.backends.base import BackendError
from harness.backends.tensorrt.interface import NmsPluginLayer

NMS_PLACEMENTS = ("host", "gpu")


@dataclass(frozen=True)
class NmsSettings:
    score_threshold: float
    iou_threshold: float
    max_output_boxes: int
    background_class: int  # -1: none (RetinaNet's sigmoid classes); 0: SSD's softmax background
    score_activation: bool  # apply sigmoid to raw logits inside the plugin
    box_coding: int  # 0: corners (x1, y1, x2, y2); 1: centre-size

    def plugin_fields(self) -> dict[str, int | float]:
        """EfficientNMS_TRT's plugin fields, named as the plugin names them."""
        return {
            "score_threshold": float(self.score_threshold),
            "iou_threshold": float(self.iou_threshold),
            "max_output_boxes": int(self.max_output_boxes),
            "background_class": int(self.background_class),
            "score_activation": int(self.score_activation),
            "class_agnostic": 0,  # MLPerf's reference runs NMS per class
            "box_coding": int(self.box_coding),
        }


NMS_DEFAULTS: dict[str, NmsSettings] = {
    "retinanet": NmsSettings(0.05, 0.5, 300, -1, True, 0),
    "ssd-resnet34": NmsSettings(0.05, 0.5, 200, 0, False, 0),
}


def nms_layer(placement: str, benchmark: str, boxes_output: str, scores_output: str) -> NmsPluginLayer | None:
    """The plugin layer to append for `placement`, or None when NMS stays on the host."""
    if placement not in NMS_PLACEMENTS:
        raise BackendError(f"nms={placement!r} is not one of {', '.join(NMS_PLACEMENTS)}")
    if placement == "host":
        return None
    settings = NMS_DEFAULTS.get(benchmark)
    if settings is None:
        raise BackendError(
            f"nms=gpu is for detection models ({', '.join(sorted(NMS_DEFAULTS))}); {benchmark!r} has no NMS"
        )
    if not boxes_output or not scores_output:
        raise BackendError("nms=gpu needs the names of the model's boxes and scores outputs")
    return NmsPluginLayer(boxes_output, scores_output, settings.plugin_fields())
