"""Feature pyramid: P3..P5 top-down from the selected backbone maps, P6/P7 by strided convs (spec section 4).

YolactEdge stores the same FPN as two modules (its spec, section 3): phase 1 (the 1x1 laterals and the
top-down sums) and phase 2 (the 3x3 convs and the downsampling), so that a video frame can run phase 2 on
top-down maps rebuilt from a keyframe's. `FPN` is phase 2 after phase 1, in YOLACT's key layout.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

NUM_DOWNSAMPLE = 2  # P6 and P7 in every official config (v1.0 checkpoints had more; the loader drops them)


def resize_to(x: torch.Tensor, size: tuple[int, int] | torch.Size) -> torch.Tensor:
    """Bilinear resize to a given size, as every YOLACT/YolactEdge feature resize does."""
    return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False)


class FPNPhase1(nn.Module):
    """Laterals and top-down sums. Convs are stored coarse-first (index 0 belongs to C5), as in the checkpoints."""

    def __init__(self, in_channels: list[int], features: int = 256) -> None:
        super().__init__()
        self.lat_layers = nn.ModuleList(nn.Conv2d(c, features, 1) for c in reversed(in_channels))

    def forward(self, features: list[torch.Tensor]) -> tuple[list[torch.Tensor], torch.Tensor]:
        """`features` fine-to-coarse (C3, C4, C5) -> top-down maps fine-to-coarse (T3, T4, T5), and the
        finest lateral alone (YolactEdge's flow net reads it)."""
        top = None
        merged = []
        lateral = None
        for lat, feat in zip(self.lat_layers, features[::-1]):
            lateral = lat(feat)
            top = lateral if top is None else resize_to(top, feat.shape[-2:]) + lateral
            merged.append(top)
        return merged[::-1], lateral

    def finest_lateral(self, c3: torch.Tensor) -> torch.Tensor:
        """The lateral of the finest selected map (C3) alone."""
        return self.lat_layers[-1](c3)


class FPNPhase2(nn.Module):
    """3x3 convs with ReLU on the top-down maps, then P6/P7 by stride-2 convs (no ReLU)."""

    def __init__(self, num_levels: int, features: int = 256, num_downsample: int = NUM_DOWNSAMPLE) -> None:
        super().__init__()
        self.pred_layers = nn.ModuleList(nn.Conv2d(features, features, 3, padding=1) for _ in range(num_levels))
        self.downsample_layers = nn.ModuleList(
            nn.Conv2d(features, features, 3, stride=2, padding=1) for _ in range(num_downsample)
        )

    def forward(self, merged: list[torch.Tensor]) -> list[torch.Tensor]:
        """Top-down maps fine-to-coarse (T3, T4, T5) -> [P3, P4, P5, P6, P7]."""
        coarse_first = merged[::-1]
        outs = [F.relu(pred(m)) for pred, m in zip(self.pred_layers, coarse_first)][::-1]
        for down in self.downsample_layers:
            outs.append(down(outs[-1]))
        return outs


class FPN(nn.Module):
    """YOLACT's FPN: one module holding both phases' convs (keys fpn.lat_layers/pred_layers/downsample_layers)."""

    def __init__(self, in_channels: list[int], features: int = 256, num_downsample: int = NUM_DOWNSAMPLE) -> None:
        super().__init__()
        phase1 = FPNPhase1(in_channels, features)
        phase2 = FPNPhase2(len(in_channels), features, num_downsample)
        self.lat_layers = phase1.lat_layers
        self.pred_layers = phase2.pred_layers
        self.downsample_layers = phase2.downsample_layers
        self._phases = (phase1, phase2)  # a tuple: not registered again as submodules

    def forward(self, features: list[torch.Tensor]) -> list[torch.Tensor]:
        """`features` fine-to-coarse (C3, C4, C5); returns [P3, P4, P5, P6, P7]."""
        phase1, phase2 = self._phases
        return phase2(phase1(features)[0])
