"""Feature pyramid: P3..P5 top-down from the selected backbone maps, P6/P7 by strided convs (spec section 4)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

NUM_DOWNSAMPLE = 2  # P6 and P7 in every official config (v1.0 checkpoints had more; the loader drops them)


class FPN(nn.Module):
    """Conv lists are stored coarse-first (index 0 belongs to C5), as in the official checkpoints."""

    def __init__(self, in_channels: list[int], features: int = 256, num_downsample: int = NUM_DOWNSAMPLE) -> None:
        super().__init__()
        self.lat_layers = nn.ModuleList(nn.Conv2d(c, features, 1) for c in reversed(in_channels))
        self.pred_layers = nn.ModuleList(nn.Conv2d(features, features, 3, padding=1) for _ in in_channels)
        self.downsample_layers = nn.ModuleList(
            nn.Conv2d(features, features, 3, stride=2, padding=1) for _ in range(num_downsample)
        )

    def forward(self, features: list[torch.Tensor]) -> list[torch.Tensor]:
        """`features` fine-to-coarse (C3, C4, C5); returns [P3, P4, P5, P6, P7]."""
        coarse_first = features[::-1]
        merged = []
        top = None
        for lat, feat in zip(self.lat_layers, coarse_first):
            lateral = lat(feat)
            if top is not None:
                lateral = F.interpolate(top, size=feat.shape[-2:], mode="bilinear", align_corners=False) + lateral
            top = lateral
            merged.append(top)
        outs = [F.relu(pred(m)) for pred, m in zip(self.pred_layers, merged)]  # P5, P4, P3
        outs = outs[::-1]
        for down in self.downsample_layers:  # no ReLU on P6/P7
            outs.append(down(outs[-1]))
        return outs
