"""Building blocks shared by the architectures: frozen batch norm and the ResNet/ResNeXt blocks.

Parameter names follow torchvision's, so a torchvision-layout state_dict loads with strict key checking.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn


class FrozenBatchNorm2d(nn.Module):
    """Inference-only batch norm (buffers, no statistics update), as torchvision's detection models use."""

    # Registered as buffers below; declared here because torch's stubs type buffer attributes as Tensor | Module.
    weight: torch.Tensor
    bias: torch.Tensor
    running_mean: torch.Tensor
    running_var: torch.Tensor

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.register_buffer("weight", torch.ones(channels))
        self.register_buffer("bias", torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.weight * (self.running_var + self.eps).rsqrt()
        shift = self.bias - self.running_mean * scale
        return x * scale.reshape(1, -1, 1, 1) + shift.reshape(1, -1, 1, 1)


def conv(in_ch: int, out_ch: int, kernel: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, kernel, stride, padding=kernel // 2, groups=groups, bias=False)


class Bottleneck(nn.Module):
    """ResNet v1.5 bottleneck: the stride sits on the 3x3 conv (v1 put it on the first 1x1)."""

    expansion = 4

    def __init__(self, in_ch: int, planes: int, stride: int = 1, groups: int = 1, base_width: int = 64) -> None:
        super().__init__()
        width = int(planes * (base_width / 64.0)) * groups
        out_ch = planes * self.expansion
        self.conv1 = conv(in_ch, width, 1)
        self.bn1 = FrozenBatchNorm2d(width)
        self.conv2 = conv(width, width, 3, stride, groups)
        self.bn2 = FrozenBatchNorm2d(width)
        self.conv3 = conv(width, out_ch, 1)
        self.bn3 = FrozenBatchNorm2d(out_ch)
        self.relu = nn.ReLU(inplace=True)
        self.downsample: nn.Module | None = None
        if stride != 1 or in_ch != out_ch:
            self.downsample = nn.Sequential(conv(in_ch, out_ch, 1, stride), FrozenBatchNorm2d(out_ch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + identity)


class BasicBlock(nn.Module):
    """ResNet18/34 block: two 3x3 convs."""

    expansion = 1

    def __init__(self, in_ch: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = conv(in_ch, planes, 3, stride)
        self.bn1 = FrozenBatchNorm2d(planes)
        self.conv2 = conv(planes, planes, 3)
        self.bn2 = FrozenBatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample: nn.Module | None = None
        if stride != 1 or in_ch != planes:
            self.downsample = nn.Sequential(conv(in_ch, planes, 1, stride), FrozenBatchNorm2d(planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


def bottleneck_stage(
    in_ch: int, planes: int, blocks: int, stride: int, groups: int = 1, base_width: int = 64
) -> nn.Sequential:
    layers = [Bottleneck(in_ch, planes, stride, groups, base_width)]
    layers += [Bottleneck(planes * 4, planes, 1, groups, base_width) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


def basic_stage(in_ch: int, planes: int, blocks: int, stride: int) -> nn.Sequential:
    return nn.Sequential(BasicBlock(in_ch, planes, stride), *[BasicBlock(planes, planes) for _ in range(blocks - 1)])


class ResNetBody(nn.Module):
    """Stem plus the four bottleneck stages (ResNet50: groups 1, width 64; ResNeXt50_32x4d: 32, 4)."""

    def __init__(self, groups: int = 1, base_width: int = 64) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = FrozenBatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = bottleneck_stage(64, 64, 3, 1, groups, base_width)
        self.layer2 = bottleneck_stage(256, 128, 4, 2, groups, base_width)
        self.layer3 = bottleneck_stage(512, 256, 6, 2, groups, base_width)
        self.layer4 = bottleneck_stage(1024, 512, 3, 2, groups, base_width)

    def stages(self, x: torch.Tensor) -> list[torch.Tensor]:
        """C2..C5 (strides 4, 8, 16, 32)."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        c2 = self.layer1(x)
        c3 = self.layer2(c2)
        c4 = self.layer3(c3)
        return [c2, c3, c4, self.layer4(c4)]


def fold_batch_norms(model: nn.Module) -> int:
    """Fold every frozen batch norm into the convolution before it; returns how many were folded.

    Inference-only: conv(x)*scale + shift == conv'(x) with weights scaled per output channel and a bias. It
    removes two elementwise passes over each activation, which eager PyTorch would not fuse.
    """
    folded = 0
    for module in list(model.modules()):
        pairs: list[tuple[str, str]] = []
        if isinstance(module, (Bottleneck, BasicBlock)):
            pairs = [("conv1", "bn1"), ("conv2", "bn2")] + (
                [("conv3", "bn3")] if isinstance(module, Bottleneck) else []
            )
        elif hasattr(module, "conv1") and hasattr(module, "bn1"):
            pairs = [("conv1", "bn1")]
        elif hasattr(module, "conv") and hasattr(module, "bn"):  # YOLO's Conv: conv, bn, activation
            pairs = [("conv", "bn")]
        elif isinstance(module, nn.Sequential):
            names = list(module._modules)
            pairs = [
                (a, b)
                for a, b in itertools.pairwise(names)
                if isinstance(module._modules[a], nn.Conv2d) and isinstance(module._modules[b], FrozenBatchNorm2d)
            ]
        for conv_name, bn_name in pairs:
            conv_layer, norm = getattr(module, conv_name), getattr(module, bn_name)
            if not isinstance(norm, FrozenBatchNorm2d):
                continue
            _fold(conv_layer, norm)
            setattr(module, bn_name, nn.Identity())
            folded += 1
    return folded


@torch.no_grad()
def _fold(conv_layer: nn.Conv2d, norm: FrozenBatchNorm2d) -> None:
    scale = norm.weight * (norm.running_var + norm.eps).rsqrt()
    shift = norm.bias - norm.running_mean * scale
    conv_layer.weight.mul_(scale.reshape(-1, 1, 1, 1))
    bias = shift if conv_layer.bias is None else conv_layer.bias * scale + shift
    conv_layer.bias = nn.Parameter(bias.clone())
