"""The MLPerf vision architectures in plain PyTorch (no torchvision needed), with torchvision-style names.

- ResNet50 v1.5 (torchvision `resnet50` layout, 1000 classes). MLPerf's preprocessing subtracts per-channel
  means from 0..255 pixels; torchvision weights expect (x/255 - mean)/std, so the model maps one onto the
  other first. It answers the arg-max plus one: MLPerf's reference model has a background class at 0.
- RetinaNet: ResNeXt50_32x4d body, FPN P3-P7 (P6/P7 from P5), 4-conv heads, 9 anchors a cell, 264 classes,
  800x800 input in 0..1 normalised inside (torchvision `retinanet_resnet50_fpn` layout with that body).
- SSD-ResNet34 at 1200x1200: ResNet34 up to conv4 with its first conv4 block at stride 1, five extra blocks,
  3x3 heads at stride 3 on six maps (50, 25, 13, 7, 3, 3), 4/6/6/6/4/4 boxes a cell, 81 classes, 15130 boxes
  (facts from MLPerf's ssd_r34.py; the key names follow it).
- YOLO11l (yolo-95, yolo-99): in yolo11.py, which says why it is written out.
"""

from __future__ import annotations

import math
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from harness.backends.pytorch.layers import FrozenBatchNorm2d, ResNetBody, basic_stage
from harness.backends.pytorch.yolo11 import DFL, Yolo11l

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
MLPERF_RESNET_MEANS = (123.68, 116.78, 103.94)


class ResNet50(ResNetBody):
    """ResNet50 v1.5 classifier answering MLPerf's 1001-class index (arg-max + 1)."""

    # Non-persistent buffers registered in __init__ (torch's stubs would type them Tensor | Module).
    input_scale: torch.Tensor
    input_shift: torch.Tensor

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2048, num_classes)
        mlperf_mean = torch.tensor(MLPERF_RESNET_MEANS).reshape(1, 3, 1, 1)
        mean = torch.tensor(IMAGENET_MEAN).reshape(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD).reshape(1, 3, 1, 1)
        # x_torchvision = ((x_mlperf + m) / 255 - mean) / std = x_mlperf * scale + shift
        self.register_buffer("input_scale", 1.0 / (255.0 * std), persistent=False)
        self.register_buffer("input_shift", (mlperf_mean / 255.0 - mean) / std, persistent=False)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        x = x * self.input_scale + self.input_shift
        c5 = self.stages(x)[-1]
        return self.fc(torch.flatten(self.avgpool(c5), 1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor]:
        return (self.logits(x).argmax(dim=1) + 1,)


class _ExtraLevels(nn.Module):
    """Holder of the P6/P7 convs (torchvision's `extra_blocks`), typed so that calling them type-checks."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.p6 = nn.Conv2d(channels, channels, 3, 2, 1)
        self.p7 = nn.Conv2d(channels, channels, 3, 2, 1)


class FeaturePyramid(nn.Module):
    """FPN over C3..C5 plus P6/P7 (P6 from P5, P7 from relu(P6))."""

    def __init__(self, in_channels: tuple[int, ...] = (512, 1024, 2048), channels: int = 256) -> None:
        super().__init__()
        self.inner_blocks = nn.ModuleList(nn.Sequential(nn.Conv2d(c, channels, 1)) for c in in_channels)
        self.layer_blocks = nn.ModuleList(
            nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1)) for _ in in_channels
        )
        self.extra_blocks = _ExtraLevels(channels)

    def forward(self, features: list[torch.Tensor]) -> list[torch.Tensor]:
        last = self.inner_blocks[-1](features[-1])
        results = [self.layer_blocks[-1](last)]
        for index in range(len(features) - 2, -1, -1):
            lateral = self.inner_blocks[index](features[index])
            last = lateral + F.interpolate(last, size=lateral.shape[-2:], mode="nearest")
            results.insert(0, self.layer_blocks[index](last))
        p6 = self.extra_blocks.p6(results[-1])
        p7 = self.extra_blocks.p7(F.relu(p6))
        return [*results, p6, p7]


class _Backbone(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = ResNetBody(groups=32, base_width=4)
        self.fpn = FeaturePyramid()

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return self.fpn(self.body.stages(x)[1:])


class _Head(nn.Module):
    """Four 3x3 conv+ReLU then a predictor; output (N, sum H*W*A, per_anchor), ordered level, row, col, anchor."""

    def __init__(self, per_anchor: int, anchors: int, predictor: str, channels: int = 256) -> None:
        super().__init__()
        self.per_anchor = per_anchor
        self.conv = nn.Sequential(
            *[nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(inplace=True)) for _ in range(4)]
        )
        self.predictor_name = predictor
        setattr(self, predictor, nn.Conv2d(channels, anchors * per_anchor, 3, padding=1))

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        predictor = getattr(self, self.predictor_name)
        outputs = []
        for feature in features:
            out = predictor(self.conv(feature))
            n, _, h, w = out.shape
            out = out.view(n, -1, self.per_anchor, h, w).permute(0, 3, 4, 1, 2)
            outputs.append(out.reshape(n, -1, self.per_anchor))
        return torch.cat(outputs, dim=1)


class _RetinaNetHead(nn.Module):
    def __init__(self, num_classes: int, anchors: int = 9) -> None:
        super().__init__()
        self.classification_head = _Head(num_classes, anchors, "cls_logits")
        self.regression_head = _Head(4, anchors, "bbox_reg")


class RetinaNet(nn.Module):
    """MLPerf's RetinaNet; forward answers the raw heads (cls_logits (N, A, 264), bbox_regression (N, A, 4))."""

    # Non-persistent buffers registered in __init__ (torch's stubs would type them Tensor | Module).
    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, num_classes: int = 264) -> None:
        super().__init__()
        self.backbone = _Backbone()
        self.head = _RetinaNetHead(num_classes)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).reshape(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).reshape(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.backbone((x - self.mean) / self.std)
        return self.head.classification_head(features), self.head.regression_head(features)


class _ResNet34Trunk(nn.Module):
    """ResNet34 stem + conv2..conv4 (`layer1`: stem, conv2, conv3; `layer2`: conv4 at stride 1), 256 channels."""

    def __init__(self) -> None:
        super().__init__()
        self.layer1 = nn.Sequential(
            nn.Conv2d(3, 64, 7, 2, 3, bias=False),
            FrozenBatchNorm2d(64),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, 1),
            basic_stage(64, 64, 3, 1),
            basic_stage(64, 128, 4, 2),
        )
        self.layer2 = nn.Sequential(basic_stage(128, 256, 6, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer2(self.layer1(x))


SSD_OUT_CHANNELS = (256, 512, 512, 256, 256, 256)
SSD_BOXES_PER_CELL = (4, 6, 6, 6, 4, 4)


def _extra_block(in_ch: int, mid: int, out_ch: int, stride: int, padding: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_ch, mid, 1),
        nn.ReLU(inplace=True),
        nn.Conv2d(mid, out_ch, 3, stride=stride, padding=padding),
        nn.ReLU(inplace=True),
    )


class SsdResNet34(nn.Module):
    """MLPerf's SSD-ResNet34 (1200x1200); forward answers (locs (N, 4, 15130), confs (N, 81, 15130))."""

    def __init__(self, num_classes: int = 81) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.model = _ResNet34Trunk()
        c = SSD_OUT_CHANNELS
        self.additional_blocks = nn.ModuleList(
            [
                _extra_block(c[0], 256, c[1], 2, 1),
                _extra_block(c[1], 256, c[2], 2, 1),
                _extra_block(c[2], 128, c[3], 2, 1),
                _extra_block(c[3], 128, c[4], 2, 0),
                _extra_block(c[4], 128, c[5], 1, 0),
            ]
        )
        self.loc = nn.ModuleList(
            nn.Conv2d(ch, n * 4, 3, padding=1, stride=3) for ch, n in zip(c, SSD_BOXES_PER_CELL, strict=True)
        )
        self.conf = nn.ModuleList(
            nn.Conv2d(ch, n * num_classes, 3, padding=1, stride=3) for ch, n in zip(c, SSD_BOXES_PER_CELL, strict=True)
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        sources = [self.model(x)]
        for block in self.additional_blocks:
            sources.append(block(sources[-1]))
        n = x.shape[0]
        locs = torch.cat([loc(s).reshape(n, 4, -1) for loc, s in zip(self.loc, sources, strict=True)], 2)
        confs = torch.cat(
            [conf(s).reshape(n, self.num_classes, -1) for conf, s in zip(self.conf, sources, strict=True)], 2
        )
        return locs, confs


def init_random(model: nn.Module, seed: int) -> None:
    """Deterministic random weights for speed runs (no accuracy meaning).

    Detection heads are set so postprocessing sees its worst-case load rather than an empty one: RetinaNet's
    class bias is 0 (sigmoid 0.5 > 0.05 everywhere, so every level fills its top-k), SSD's class scores
    are sharp, so most boxes pass 0.05 for some class, and every YOLO anchor scores about 0.5 > 0.001. YOLO's DFL
    weights are no parameters to learn but the fixed bin values, so they are set back.
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                fan_in = module.weight[0].numel()
                module.weight.copy_(torch.randn(module.weight.shape, generator=generator) * math.sqrt(2.0 / fan_in))
                if module.bias is not None:
                    module.bias.zero_()
            elif isinstance(module, FrozenBatchNorm2d):
                module.weight.fill_(1.0)
                module.bias.zero_()
        if isinstance(model, SsdResNet34):
            for conf in model.conf:
                cast(nn.Conv2d, conf).weight.mul_(8.0)  # ModuleList iterates as Module; these are all Conv2d
        for module in model.modules():
            if isinstance(module, DFL):
                module.reset()


ARCHITECTURES: dict[str, type[nn.Module]] = {
    "resnet50": ResNet50,
    "retinanet": RetinaNet,
    "ssd-resnet34": SsdResNet34,
    "yolo11l": Yolo11l,
}
