"""YolactEdge's video modules: the flow net that predicts how the keyframe's P4/P5 moved, the warp that
applies it, and the refinement (SPA) of the warped maps with the current frame's lateral (yolactedge spec,
sections 2 and 4). Module and parameter names are the released checkpoints' key names.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from protolabel.segmentation.yolact.fpn import resize_to

LEAKY_SLOPE = 0.1
FLOW_DIVISOR = 8.0  # a flow unit is 1/8 of the normalised [-1, 1] grid


def _conv_lrelu(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    """A 3x3 conv + LeakyReLU(0.1), as a Sequential so that the conv's keys end in `.0.weight`."""
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1), nn.LeakyReLU(LEAKY_SLOPE))


class FlowNetPreConvs(nn.Module):
    """Reduces a 256-channel C3 lateral to the flow net's 64 channels."""

    def __init__(self, features: int = 256, reduced: int = 64) -> None:
        super().__init__()
        self.convs = nn.ModuleList([_conv_lrelu(features, reduced)])

    def forward(self, lateral: torch.Tensor) -> torch.Tensor:
        return self.convs[0](lateral)


class FlowPrediction(nn.Module):
    """One level's flow (2 channels: x, y) and its per-channel feature scale and bias maps."""

    def __init__(self, in_channels: int, features: int = 256) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, 2, 3, padding=1, bias=False)
        self.scale = nn.Conv2d(in_channels, features, 1)
        self.bias = nn.Conv2d(in_channels, features, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.conv(x), self.scale(x), self.bias(x)


class LevelFlow(NamedTuple):
    flow: torch.Tensor  # [B, 2, h, w], channel 0 = x, 1 = y, in flow units
    scale: torch.Tensor  # [B, 256, h, w]
    bias: torch.Tensor  # [B, 256, h, w]


class FlowNet(nn.Module):
    """Encoder over (current, keyframe) reduced laterals, then flow/scale/bias for P5 and P4.

    The finest-level branch (pred1, upfeat2, upflow2) is in the checkpoints but unused by every released
    config (P3 is never warped); it is kept so that the key layout is the released one.
    """

    def __init__(self, reduced: int = 64, features: int = 256) -> None:
        super().__init__()
        c1, c2, c3 = 64, 128, 256
        self.conv1 = nn.Sequential(_conv_lrelu(2 * reduced, c1), _conv_lrelu(c1, c1))
        self.conv2 = nn.Sequential(_conv_lrelu(c1, c2, stride=2), _conv_lrelu(c2, c2))
        self.conv3 = nn.Sequential(_conv_lrelu(c2, c3, stride=2), _conv_lrelu(c3, c3))
        self.pred3 = FlowPrediction(c3, features)
        self.pred2 = FlowPrediction(c2 + c2 + 2, features)
        self.pred1 = FlowPrediction(c1 + c1 + 2, features)
        self.upfeat3 = nn.Conv2d(c3, c2, 3, padding=1, bias=False)
        self.upflow3 = nn.Conv2d(2, 2, 3, padding=1, bias=False)
        self.upfeat2 = nn.Conv2d(c2 + c2 + 2, c1, 3, padding=1, bias=False)
        self.upflow2 = nn.Conv2d(2, 2, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> tuple[LevelFlow, LevelFlow]:
        """`x`: [B, 128, h3, w3] (current frame's reduced lateral first) -> (P4's, P5's) flow, scale, bias."""
        e1 = self.conv1(x)
        e2 = self.conv2(e1)
        e3 = self.conv3(e2)
        level5 = LevelFlow(*self.pred3(e3))
        size4 = e2.shape[-2:]
        up_features = self.upfeat3(resize_to(e3, size4))
        up_flow = self.upflow3(resize_to(level5.flow, size4))
        level4 = LevelFlow(*self.pred2(torch.cat((e2, up_features, up_flow), dim=1)))
        return level4, level5


class SPA(nn.Module):
    """Refines the warped P4/P5 with the current frame's C3 lateral: W + LReLU(conv([W, lateral]))."""

    def __init__(self, features: int = 256, levels: int = 2) -> None:
        super().__init__()
        self.refine_convs = nn.ModuleList(_conv_lrelu(2 * features, features) for _ in range(levels))

    def forward(self, lateral: torch.Tensor, warped: list[torch.Tensor]) -> list[torch.Tensor]:
        """`warped` fine-to-coarse (P4, P5 sized); the lateral is resized step by step, each from the last."""
        out = []
        for conv, feature in zip(self.refine_convs, warped):
            lateral = resize_to(lateral, feature.shape[-2:])
            out.append(feature + conv(torch.cat((feature, lateral), dim=1)))
        return out


def sampling_grid(flow: torch.Tensor) -> torch.Tensor:
    """grid_sample's grid for a flow [B, 2, h, w]: identity (align_corners=True) plus flow / 8."""
    b, _, h, w = flow.shape
    # The original computes x * (2 / (w - 1)) - 1 in float32 with the step rounded first: kept bit for bit.
    step_x = torch.tensor(2.0 / (w - 1), dtype=flow.dtype, device=flow.device)
    step_y = torch.tensor(2.0 / (h - 1), dtype=flow.dtype, device=flow.device)
    xs = torch.arange(w, dtype=flow.dtype, device=flow.device) * step_x - 1
    ys = torch.arange(h, dtype=flow.dtype, device=flow.device) * step_y - 1
    gx = xs.view(1, 1, w) + flow[:, 0] / FLOW_DIVISOR
    gy = ys.view(1, h, 1) + flow[:, 1] / FLOW_DIVISOR
    return torch.stack((gx, gy), dim=-1)


def warp(feature: torch.Tensor, level: LevelFlow) -> tuple[torch.Tensor, torch.Tensor]:
    """(raw warp, warp * scale + bias) of a keyframe map by one level's flow."""
    raw = F.grid_sample(feature, sampling_grid(level.flow), mode="bilinear", padding_mode="zeros", align_corners=True)
    return raw, raw * level.scale + level.bias
