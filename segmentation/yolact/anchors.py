"""Anchor (prior) boxes, in relative (cx, cy, w, h), level order P3..P7 (spec section 7)."""

from __future__ import annotations

import math

import numpy as np
import torch

from protolabel.segmentation.yolact.config import ASPECT_RATIOS, YolactConfig


def feature_map_sizes(max_size: int, num_levels: int = 5) -> list[int]:
    """Side length of each FPN level: C3 is at stride 8, each further level halves (ceil)."""
    size = max_size
    for _ in range(3):  # stem conv, max-pool, stage-2 stride: ceil(n/2) each time
        size = math.ceil(size / 2)
    sizes = []
    for _ in range(num_levels):
        sizes.append(size)
        size = math.ceil(size / 2)
    return sizes


def level_anchors(h: int, w: int, scales: tuple[float, ...], max_size: int, square: bool) -> np.ndarray:
    """Anchors of one level: row-major locations, then scale-major, then aspect ratio."""
    out = []
    for y in range(h):
        for x in range(w):
            cx, cy = (x + 0.5) / w, (y + 0.5) / h
            for scale in scales:
                for ratio in ASPECT_RATIOS:
                    r = math.sqrt(ratio)
                    aw = scale * r / max_size
                    ah = aw if square else scale / r / max_size
                    out.append((cx, cy, aw, ah))
    return np.asarray(out, dtype=np.float64).reshape(-1, 4)


def make_anchors(config: YolactConfig, level_sizes: list[tuple[int, int]]) -> torch.Tensor:
    """All anchors of a model for the given per-level feature sizes, float32 [N, 4]."""
    parts = [
        level_anchors(h, w, scales, config.max_size, config.square_anchors)
        for (h, w), scales in zip(level_sizes, config.scales)
    ]
    return torch.from_numpy(np.concatenate(parts).astype(np.float32))
