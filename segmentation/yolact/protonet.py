"""Prototype network: P3 -> k prototype masks at twice P3's resolution (spec section 5)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Upsample2x(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


def build_protonet(in_channels: int = 256, num_prototypes: int = 32) -> nn.Sequential:
    """Layer indices are the checkpoint key names: 0,2,4,8 convs, 6 upsample, 10 the k-way 1x1 conv."""
    return nn.Sequential(
        nn.Conv2d(in_channels, 256, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(256, 256, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(256, 256, 3, padding=1),
        nn.ReLU(inplace=True),
        Upsample2x(),
        nn.ReLU(inplace=True),  # kept only so that the indices match the official keys
        nn.Conv2d(256, 256, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(256, num_prototypes, 1),
    )
