"""YOLACT / YOLACT++: backbone -> FPN -> (prototypes, shared head on every level)."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from protolabel.segmentation.yolact.anchors import make_anchors
from protolabel.segmentation.yolact.backbones import build_backbone
from protolabel.segmentation.yolact.config import YolactConfig
from protolabel.segmentation.yolact.fpn import FPN
from protolabel.segmentation.yolact.head import MaskIoUNet, PredictionHead
from protolabel.segmentation.yolact.protonet import build_protonet


class YolactOutputs(NamedTuple):
    loc: torch.Tensor  # [B, N, 4] box regressions
    conf: torch.Tensor  # [B, N, C] class logits (softmax is applied by inference, not here)
    coefficients: torch.Tensor  # [B, N, k] after tanh
    prototypes: torch.Tensor  # [B, h, w, k] after ReLU
    anchors: torch.Tensor  # [N, 4] relative (cx, cy, w, h)
    segmentation: torch.Tensor | None  # [B, C-1, h3, w3] semantic logits (training only)


class Yolact(nn.Module):
    """Module names and registration order follow the official checkpoints' keys."""

    def __init__(self, config: YolactConfig) -> None:
        super().__init__()
        self.config = config
        self.backbone = build_backbone(config)
        self.proto_net = build_protonet(256, config.num_prototypes)
        if config.use_maskiou:
            self.maskiou_net = MaskIoUNet(config.num_classes - 1)
        self.fpn = FPN([self.backbone.channels[i] for i in config.selected_layers])
        head = PredictionHead(config.anchors_per_location, config.num_classes, config.num_prototypes)
        self.prediction_layers = nn.ModuleList([head])  # one head, shared by all levels
        self.semantic_seg_conv = nn.Conv2d(256, config.num_classes - 1, 1)
        self._anchor_cache: dict[tuple, torch.Tensor] = {}

    def anchors(self, level_sizes: list[tuple[int, int]], device: torch.device) -> torch.Tensor:
        key = (tuple(level_sizes), str(device))
        if key not in self._anchor_cache:
            self._anchor_cache[key] = make_anchors(self.config, level_sizes).to(device)
        return self._anchor_cache[key]

    def forward(self, images: torch.Tensor) -> YolactOutputs:
        """`images`: [B, 3, S, S] normalised RGB, as produced by `YolactTransform`."""
        features = self.backbone(images)
        pyramid = self.fpn([features[i] for i in self.config.selected_layers])
        prototypes = torch.relu(self.proto_net(pyramid[0])).permute(0, 2, 3, 1).contiguous()
        head = self.prediction_layers[0]
        outs = [head(level) for level in pyramid]
        loc, conf, coeffs = (torch.cat(parts, dim=1) for parts in zip(*outs))
        anchors = self.anchors([tuple(p.shape[-2:]) for p in pyramid], images.device)
        segmentation = self.semantic_seg_conv(pyramid[0]) if self.training else None
        return YolactOutputs(loc, conf, coeffs, prototypes, anchors, segmentation)
