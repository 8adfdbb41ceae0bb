"""Letterbox resizing for YOLO and its inverse, with the geometry Ultralytics' predict uses by default.

Facts (Ultralytics' LetterBox and scale_boxes, which MLPerf's YOLO reference calls through `predict` at 640):
- scale r = min(640 / h, 640 / w), up- or down-scaling; the image is resized to (round(w·r), round(h·r)) with
  OpenCV's INTER_LINEAR on 8-bit pixels, only when that size differs from the original;
- padding fills the rest with grey 114 on every channel, split around the image: with a total pad d on an axis,
  round(d/2 - 0.1) before and round(d/2 + 0.1) after;
- `minimal` (Ultralytics' auto, used for a PyTorch model) pads only up to the next multiple of the stride 32, so
  the input size varies per image; otherwise (square) every input is 640x640;
- back to the original image: gain = min(input_h / h, input_w / w), pad_x = round((input_w - w·gain)/2 - 0.1)
  (likewise y), boxes (x - pad_x) / gain, then clipped to the image.
Python's round is half-to-even, as Ultralytics' own (Python) arithmetic is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.benchmarks.detection.imageops import resize_linear

PAD_VALUE = 114.0
STRIDE = 32


@dataclass(frozen=True)
class Letterbox:
    """Where an original image of `height` x `width` lies in the model input."""

    height: int
    width: int
    input_height: int
    input_width: int
    resized_height: int
    resized_width: int
    top: int
    left: int


def letterbox_geometry(height: int, width: int, size: int, minimal: bool) -> Letterbox:
    """The letterbox of an image of `height` x `width` into `size` (square) or its minimal stride multiple."""
    if height < 1 or width < 1:
        raise ValueError(f"image of {height}x{width} pixels cannot be letterboxed")
    scale = min(size / height, size / width)
    resized_w, resized_h = round(width * scale), round(height * scale)
    pad_w, pad_h = size - resized_w, size - resized_h
    if minimal:  # only what the stride needs
        pad_w, pad_h = pad_w % STRIDE, pad_h % STRIDE
    top, bottom = round(pad_h / 2 - 0.1), round(pad_h / 2 + 0.1)
    left, right = round(pad_w / 2 - 0.1), round(pad_w / 2 + 0.1)
    return Letterbox(
        height=height,
        width=width,
        input_height=resized_h + top + bottom,
        input_width=resized_w + left + right,
        resized_height=resized_h,
        resized_width=resized_w,
        top=top,
        left=left,
    )


def letterbox(pixels: np.ndarray, box: Letterbox) -> np.ndarray:
    """(H, W, 3) float32 0..255 pixels placed in the (input_h, input_w, 3) letterbox, grey 114 around them.

    OpenCV resizes 8-bit images and returns 8-bit pixels, so the linear resize is rounded to whole levels.
    """
    if pixels.shape[:2] != (box.height, box.width):
        raise ValueError(
            f"image of {pixels.shape[1]}x{pixels.shape[0]} does not fit a letterbox for {box.width}x{box.height}"
        )
    resized = pixels
    if (box.resized_height, box.resized_width) != (box.height, box.width):
        resized = np.clip(np.rint(resize_linear(pixels, box.resized_height, box.resized_width)), 0, 255)
    out = np.full((box.input_height, box.input_width, pixels.shape[2]), PAD_VALUE, dtype=np.float32)
    out[box.top : box.top + box.resized_height, box.left : box.left + box.resized_width] = resized
    return out


def to_original(boxes: np.ndarray, box: Letterbox) -> np.ndarray:
    """(n, 4) x1, y1, x2, y2 in input pixels -> original pixels, clipped to the image (scale_boxes)."""
    gain = min(box.input_height / box.height, box.input_width / box.width)
    pad_x = round((box.input_width - box.width * gain) / 2 - 0.1)
    pad_y = round((box.input_height - box.height * gain) / 2 - 0.1)
    pad = np.array([pad_x, pad_y, pad_x, pad_y], dtype=np.float32)
    mapped = (boxes.astype(np.float32) - pad) / np.float32(gain)
    mapped[:, 0::2] = np.clip(mapped[:, 0::2], 0, box.width)
    mapped[:, 1::2] = np.clip(mapped[:, 1::2], 0, box.height)
    return mapped
