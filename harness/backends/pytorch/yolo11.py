"""YOLO11l written out in plain PyTorch, for the yolo-95 / yolo-99 benchmarks.

Why written out, not converted: the model MLPerf names is Ultralytics' `yolo11l.pt`, a pickled Ultralytics object
that only the (AGPL) ultralytics package can load, and no maintained library converts it into a PyTorch module of
its own. Converting its ONNX export instead (onnx2torch) would tie the model to one export: a graph of generic ops
with reshapes traced at the export's input size unless it was exported dynamic (minimal padding needs other
sizes), and weights named after ONNX initialisers, so the checkpoint's state_dict would not load. So the
architecture is written here from the published structure (yolo11.yaml at scale "l": depth 1.0, width 1.0, at most
512 channels; every C3k2 with C3k blocks at that scale), without depending on or copying ultralytics.

Weights: module names follow the checkpoint's layout (`model.<layer>.<part>`, e.g. `model.2.m.0.cv1.conv.weight`,
`model.23.dfl.conv.weight`), so the state_dict of yolo11l.pt, saved once as a plain tensor dict where ultralytics is
installed (`torch.save(YOLO("yolo11l.pt").model.float().state_dict(), "yolo11l.pth")`), loads with strict key
checks. Batch norms are frozen (eps 1e-3, as trained), so their affine factors are buffers: parameters() counts
25,372,160 less those, and after folding them into the convolutions the count is the fused model's.

forward answers the ONNX export's `output0`: (batch, 84, anchors) with cx, cy, w, h in input pixels and 80 sigmoid
class scores per anchor, anchors over the stride 8, 16, 32 grids in row order (8,400 at 640x640; any multiple of 32
works, for minimal padding). Class-wise NMS stays in the benchmark's host postprocess, shared by every backend.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from harness.backends.pytorch.layers import FrozenBatchNorm2d

NUM_CLASSES = 80
REG_MAX = 16  # distribution bins per box side (DFL)
STRIDES = (8, 16, 32)


class Conv(nn.Module):
    """Convolution (no bias), frozen batch norm, SiLU (or none): YOLO's basic layer."""

    def __init__(
        self, c_in: int, c_out: int, kernel: int = 1, stride: int = 1, groups: int = 1, act: bool = True
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False)
        self.bn: nn.Module = FrozenBatchNorm2d(c_out, eps=1e-3)
        self.act: nn.Module = nn.SiLU(inplace=True) if act else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class Bottleneck(nn.Module):
    """Two convs, plus the input when the shapes allow (always here: c_in == c_out)."""

    def __init__(self, c_in: int, c_out: int, kernels: tuple[int, int] = (3, 3), expansion: float = 0.5) -> None:
        super().__init__()
        hidden = int(c_out * expansion)
        self.cv1 = Conv(c_in, hidden, kernels[0])
        self.cv2 = Conv(hidden, c_out, kernels[1])
        self.add = c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class C3k(nn.Module):
    """CSP block of two 3x3 bottlenecks on half the channels, the other half passed beside them."""

    def __init__(self, c_in: int, c_out: int, repeats: int = 2) -> None:
        super().__init__()
        hidden = c_out // 2
        self.cv1 = Conv(c_in, hidden)
        self.cv2 = Conv(c_in, hidden)
        self.cv3 = Conv(2 * hidden, c_out)
        self.m = nn.Sequential(*(Bottleneck(hidden, hidden, (3, 3), 1.0) for _ in range(repeats)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cv3(torch.cat((self.m(self.cv1(x)), self.cv2(x)), 1))


class C3k2(nn.Module):
    """Split in two, chain `repeats` C3k blocks on the second half, concatenate every stage, project."""

    def __init__(self, c_in: int, c_out: int, repeats: int = 2, expansion: float = 0.5) -> None:
        super().__init__()
        self.hidden = int(c_out * expansion)
        self.cv1 = Conv(c_in, 2 * self.hidden)
        self.cv2 = Conv((2 + repeats) * self.hidden, c_out)
        self.m = nn.ModuleList(C3k(self.hidden, self.hidden) for _ in range(repeats))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = list(self.cv1(x).chunk(2, 1))
        for block in self.m:
            parts.append(block(parts[-1]))
        return self.cv2(torch.cat(parts, 1))


class SPPF(nn.Module):
    """Spatial pyramid pooling, fast: three chained 5x5 max pools, all four stages concatenated."""

    def __init__(self, c_in: int, c_out: int, kernel: int = 5) -> None:
        super().__init__()
        hidden = c_in // 2
        self.cv1 = Conv(c_in, hidden)
        self.cv2 = Conv(hidden * 4, c_out)
        self.m = nn.MaxPool2d(kernel, 1, kernel // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        stages = [self.cv1(x)]
        for _ in range(3):
            stages.append(self.m(stages[-1]))
        return self.cv2(torch.cat(stages, 1))


class Attention(nn.Module):
    """Multi-head self-attention over the positions of a feature map, keys at half the head width, plus a
    depthwise 3x3 positional term on the values."""

    def __init__(self, channels: int, heads: int, key_ratio: float = 0.5) -> None:
        super().__init__()
        self.heads = heads
        self.head_dim = channels // heads
        self.key_dim = int(self.head_dim * key_ratio)
        self.scale = self.key_dim**-0.5
        self.qkv = Conv(channels, channels + 2 * self.key_dim * heads, act=False)
        self.proj = Conv(channels, channels, act=False)
        self.pe = Conv(channels, channels, 3, groups=channels, act=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        # reshape, not view: under channels_last the conv output is not contiguous in NCHW order.
        qkv = self.qkv(x).reshape(b, self.heads, 2 * self.key_dim + self.head_dim, h * w)
        q, k, v = qkv.split([self.key_dim, self.key_dim, self.head_dim], dim=2)
        weights = ((q.transpose(-2, -1) @ k) * self.scale).softmax(dim=-1)
        out = (v @ weights.transpose(-2, -1)).reshape(b, c, h, w) + self.pe(v.reshape(b, c, h, w))
        return self.proj(out)


class PSABlock(nn.Module):
    """Attention then a two-conv feed-forward, each with a residual."""

    def __init__(self, channels: int, heads: int) -> None:
        super().__init__()
        self.attn = Attention(channels, heads)
        self.ffn = nn.Sequential(Conv(channels, channels * 2), Conv(channels * 2, channels, act=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(x)
        return x + self.ffn(x)


class C2PSA(nn.Module):
    """Half the channels through `repeats` attention blocks (64-channel heads), the other half passed beside."""

    def __init__(self, channels: int, repeats: int = 2) -> None:
        super().__init__()
        self.hidden = channels // 2
        self.cv1 = Conv(channels, 2 * self.hidden)
        self.cv2 = Conv(2 * self.hidden, channels)
        self.m = nn.Sequential(*(PSABlock(self.hidden, self.hidden // 64) for _ in range(repeats)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.cv1(x).split((self.hidden, self.hidden), dim=1)
        return self.cv2(torch.cat((a, self.m(b)), 1))


class DFL(nn.Module):
    """Distribution focal loss decoding: the expected value of a softmax over REG_MAX bins, as a fixed 1x1 conv
    (weights 0..REG_MAX-1, in the checkpoint as `dfl.conv.weight`)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(REG_MAX, 1, 1, bias=False).requires_grad_(False)
        self.reset()

    def reset(self) -> None:
        with torch.no_grad():
            self.conv.weight.copy_(torch.arange(REG_MAX, dtype=torch.float32).view(1, REG_MAX, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, anchors = x.shape
        return self.conv(x.reshape(b, 4, REG_MAX, anchors).transpose(2, 1).softmax(1)).reshape(b, 4, anchors)


def _dw_then_pointwise(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(Conv(c_in, c_in, 3, groups=c_in), Conv(c_in, c_out))


class Detect(nn.Module):
    """Per level: a box branch (4 x REG_MAX distances) and a class branch (depthwise-separable), then the decode
    into centre, size and sigmoid scores over all anchors."""

    def __init__(self, channels: tuple[int, ...], num_classes: int = NUM_CLASSES) -> None:
        super().__init__()
        box_width = max(16, channels[0] // 4, REG_MAX * 4)
        class_width = max(channels[0], min(num_classes, 100))
        self.num_classes = num_classes
        self.cv2 = nn.ModuleList(
            nn.Sequential(Conv(c, box_width, 3), Conv(box_width, box_width, 3), nn.Conv2d(box_width, 4 * REG_MAX, 1))
            for c in channels
        )
        self.cv3 = nn.ModuleList(
            nn.Sequential(
                _dw_then_pointwise(c, class_width),
                _dw_then_pointwise(class_width, class_width),
                nn.Conv2d(class_width, num_classes, 1),
            )
            for c in channels
        )
        self.dfl = DFL()

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        b = features[0].shape[0]
        levels = [
            torch.cat((box(f), cls(f)), 1).reshape(b, 4 * REG_MAX + self.num_classes, -1)
            for f, box, cls in zip(features, self.cv2, self.cv3, strict=True)
        ]
        raw = torch.cat(levels, 2)
        distances, logits = raw.split((4 * REG_MAX, self.num_classes), 1)
        points, strides = _anchor_points(features, raw.dtype)
        left_top, right_bottom = self.dfl(distances).chunk(2, 1)
        top_left, bottom_right = points - left_top, points + right_bottom
        boxes = torch.cat(((top_left + bottom_right) / 2, bottom_right - top_left), 1) * strides
        return torch.cat((boxes, logits.sigmoid()), 1)


def _anchor_points(features: list[torch.Tensor], dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """Cell centres (2, anchors) in grid units, x fastest, and each anchor's stride (1, anchors)."""
    points, strides = [], []
    for feature, stride in zip(features, STRIDES, strict=True):
        h, w = feature.shape[-2:]
        device = feature.device
        ys, xs = torch.meshgrid(
            torch.arange(h, device=device, dtype=dtype) + 0.5,
            torch.arange(w, device=device, dtype=dtype) + 0.5,
            indexing="ij",
        )
        points.append(torch.stack((xs.reshape(-1), ys.reshape(-1))))
        strides.append(torch.full((1, h * w), float(stride), device=device, dtype=dtype))
    return torch.cat(points, 1), torch.cat(strides, 1)


class Yolo11l(nn.Module):
    """YOLO11l; `model` holds the 24 layers at their checkpoint indices, upsampling and concatenation (which hold no
    weights) as placeholders there and done in forward."""

    def __init__(self, num_classes: int = NUM_CLASSES) -> None:
        super().__init__()
        self.model = nn.ModuleList(
            [
                Conv(3, 64, 3, 2),  # 0: P1/2
                Conv(64, 128, 3, 2),  # 1: P2/4
                C3k2(128, 256, expansion=0.25),
                Conv(256, 256, 3, 2),  # 3: P3/8
                C3k2(256, 512, expansion=0.25),  # 4: P3 out
                Conv(512, 512, 3, 2),  # 5: P4/16
                C3k2(512, 512),  # 6: P4 out
                Conv(512, 512, 3, 2),  # 7: P5/32
                C3k2(512, 512),
                SPPF(512, 512),
                C2PSA(512),  # 10: P5 out
                nn.Identity(),  # 11: upsample x2 (in forward)
                nn.Identity(),  # 12: concat with 6
                C3k2(1024, 512),  # 13
                nn.Identity(),  # 14: upsample x2
                nn.Identity(),  # 15: concat with 4
                C3k2(1024, 256),  # 16: small objects
                Conv(256, 256, 3, 2),
                nn.Identity(),  # 18: concat with 13
                C3k2(768, 512),  # 19: medium
                Conv(512, 512, 3, 2),
                nn.Identity(),  # 21: concat with 10
                C3k2(1024, 512),  # 22: large
                Detect((256, 512, 512), num_classes),
            ]
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor]:
        m = self.model
        p3 = m[4](m[3](m[2](m[1](m[0](x)))))
        p4 = m[6](m[5](p3))
        p5 = m[10](m[9](m[8](m[7](p4))))
        h13 = m[13](torch.cat((F.interpolate(p5, scale_factor=2.0, mode="nearest"), p4), 1))
        small = m[16](torch.cat((F.interpolate(h13, scale_factor=2.0, mode="nearest"), p3), 1))
        medium = m[19](torch.cat((m[17](small), h13), 1))
        large = m[22](torch.cat((m[20](medium), p5), 1))
        return (m[23]([small, medium, large]),)
