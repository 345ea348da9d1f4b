"""The prediction head shared by all FPN levels: box offsets, class logits, mask coefficients (spec section 6)."""

from __future__ import annotations

import torch
from torch import nn


class PredictionHead(nn.Module):
    def __init__(self, num_anchors: int, num_classes: int, num_prototypes: int, features: int = 256) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.num_prototypes = num_prototypes
        self.upfeature = nn.Sequential(nn.Conv2d(features, features, 3, padding=1), nn.ReLU(inplace=True))
        self.bbox_layer = nn.Conv2d(features, num_anchors * 4, 3, padding=1)
        self.conf_layer = nn.Conv2d(features, num_anchors * num_classes, 3, padding=1)
        self.mask_layer = nn.Conv2d(features, num_anchors * num_prototypes, 3, padding=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One level -> loc [B, n, 4], conf logits [B, n, C], coefficients [B, n, k] (tanh)."""
        n = x.shape[0]
        x = self.upfeature(x)
        # Channels split as (anchor, value), so flat index = (y*W + x)*A + a.
        loc = self.bbox_layer(x).permute(0, 2, 3, 1).reshape(n, -1, 4)
        conf = self.conf_layer(x).permute(0, 2, 3, 1).reshape(n, -1, self.num_classes)
        coeffs = torch.tanh(self.mask_layer(x).permute(0, 2, 3, 1).reshape(n, -1, self.num_prototypes))
        return loc, conf, coeffs


class MaskIoUNet(nn.Module):
    """YOLACT++ fast mask re-scoring: predicts each mask's IoU per class (spec section 10)."""

    def __init__(self, num_classes: int = 80) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for cin, cout in ((1, 8), (8, 16), (16, 32), (32, 64), (64, 128)):
            layers += [nn.Conv2d(cin, cout, 3, stride=2), nn.ReLU(inplace=True)]
        layers += [nn.Conv2d(128, num_classes, 1), nn.ReLU(inplace=True)]
        self.maskiou_net = nn.Sequential(*layers)

    def forward(self, masks: torch.Tensor) -> torch.Tensor:
        """[D, 1, h, w] cropped soft masks -> [D, num_classes] predicted IoU."""
        x = self.maskiou_net(masks)
        return x.amax(dim=(2, 3))
