"""YOLACT / YOLACT++ / YolactEdge: backbone -> FPN -> (prototypes, shared head on every level).

YolactEdge video models also run a cheaper path on the frames between keyframes (`forward_partial`): the
backbone up to C3 only, the keyframe's P4/P5 warped by the flow net (yolactedge spec, section 4). The
keyframe's state is returned to the caller and handed back, never kept in the model.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from protolabel.segmentation.yolact.anchors import make_anchors
from protolabel.segmentation.yolact.backbones import build_backbone
from protolabel.segmentation.yolact.config import YolactConfig
from protolabel.segmentation.yolact.flow import SPA, FlowNet, FlowNetPreConvs, LevelFlow, warp
from protolabel.segmentation.yolact.fpn import FPN, FPNPhase1, FPNPhase2, resize_to
from protolabel.segmentation.yolact.head import MaskIoUNet, PredictionHead
from protolabel.segmentation.yolact.protonet import build_protonet


class YolactOutputs(NamedTuple):
    loc: torch.Tensor  # [B, N, 4] box regressions
    conf: torch.Tensor  # [B, N, C] class logits (softmax is applied by inference, not here)
    coefficients: torch.Tensor  # [B, N, k] after tanh
    prototypes: torch.Tensor  # [B, h, w, k] after ReLU
    anchors: torch.Tensor  # [N, 4] relative (cx, cy, w, h)
    segmentation: torch.Tensor | None  # [B, C-1, h3, w3] semantic logits (training only)


class KeyframeState(NamedTuple):
    """What the frames after a YolactEdge keyframe need from it (spec section 3, step 2)."""

    top_down: tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # T3, T4, T5 before the FPN's 3x3 convs
    lateral: torch.Tensor  # the bare C3 lateral


class Yolact(nn.Module):
    """Module names and registration order follow the official checkpoints' keys."""

    def __init__(self, config: YolactConfig) -> None:
        super().__init__()
        self.config = config
        self.backbone = build_backbone(config)
        self.proto_net = build_protonet(256, config.num_prototypes)
        if config.use_maskiou:
            self.maskiou_net = MaskIoUNet(config.num_classes - 1)
        in_channels = [self.backbone.channels[i] for i in config.selected_layers]
        if config.split_fpn:
            self.fpn_phase_1 = FPNPhase1(in_channels)
            self.fpn_phase_2 = FPNPhase2(len(in_channels))
        else:
            self.fpn = FPN(in_channels)
        if config.use_spa:
            self.spa = SPA()
        if config.video:
            self.flow_net_pre_convs = FlowNetPreConvs()
            self.flow_net = FlowNet()
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
        return self.forward_keyframe(images)[0]

    def forward_keyframe(self, images: torch.Tensor) -> tuple[YolactOutputs, KeyframeState | None]:
        """The full network, plus (split-FPN models) the state the following non-keyframes warp from."""
        features = self.backbone(images)
        selected = [features[i] for i in self.config.selected_layers]
        if not self.config.split_fpn:
            return self._heads(self.fpn(selected), images.device), None
        merged, lateral = self.fpn_phase_1(selected)
        state = KeyframeState(tuple(merged), lateral)
        return self._heads(self.fpn_phase_2(merged), images.device), state

    def forward_partial(
        self, images: torch.Tensor, keyframe: KeyframeState, trace: dict[str, torch.Tensor] | None = None
    ) -> YolactOutputs:
        """A YolactEdge non-keyframe: backbone to C3, the keyframe's P4/P5 warped to this frame (spec section 4).

        `trace`, when given, receives every intermediate map by the fixtures' names (for tests)."""
        if not self.config.video:
            raise ValueError(f"config {self.config.name} has no flow net: every frame is a keyframe")
        c3 = self.backbone.forward_partial(images, self.config.selected_layers[0])
        lateral = self.fpn_phase_1.finest_lateral(c3)
        current = self.flow_net_pre_convs(lateral)
        key = self.flow_net_pre_convs(keyframe.lateral)
        flow4, flow5 = self.flow_net(torch.cat((current, key), dim=1))
        _, key4, key5 = keyframe.top_down
        raw4, warped4 = warp(key4, flow4)
        raw5, warped5 = warp(key5, flow5)
        top3 = resize_to(warped4, lateral.shape[-2:]) + lateral
        top4, top5 = self.spa(lateral, [warped4, warped5]) if self.config.use_spa else (warped4, warped5)
        pyramid = self.fpn_phase_2([top3, top4, top5])
        if trace is not None:
            trace.update(
                _trace(
                    lateral, current, key, flow4, flow5, (raw4, raw5), (warped4, warped5), top3, (top4, top5), pyramid
                )
            )
        return self._heads(pyramid, images.device)

    def _heads(self, pyramid: list[torch.Tensor], device: torch.device) -> YolactOutputs:
        """Prototypes from P3 and the shared head on every level."""
        prototypes = torch.relu(self.proto_net(pyramid[0])).permute(0, 2, 3, 1).contiguous()
        head = self.prediction_layers[0]
        outs = [head(level) for level in pyramid]
        loc, conf, coeffs = (torch.cat(parts, dim=1) for parts in zip(*outs))
        anchors = self.anchors([tuple(p.shape[-2:]) for p in pyramid], device)
        segmentation = self.semantic_seg_conv(pyramid[0]) if self.training else None
        return YolactOutputs(loc, conf, coeffs, prototypes, anchors, segmentation)


def _trace(
    lateral, current, key, flow4: LevelFlow, flow5: LevelFlow, raw, warped, top3, refined, pyramid
) -> dict[str, torch.Tensor]:
    """The non-keyframe's intermediate maps, named as in the YolactEdge fixtures."""
    out = {"lateral_c3": lateral, "flow_in_cur": current, "flow_in_key": key, "p3_pre": top3}
    for level, flow, r, w, s in (
        ("p4", flow4, raw[0], warped[0], refined[0]),
        ("p5", flow5, raw[1], warped[1], refined[1]),
    ):
        out.update(
            {
                f"flow_{level}": flow.flow,
                f"scale_{level}": flow.scale,
                f"bias_{level}": flow.bias,
                f"warp_{level}_raw": r,
                f"warp_{level}": w,
                f"spa_{level}": s,
            }
        )
    out.update({f"head_in_p{i + 3}": p for i, p in enumerate(pyramid)})
    return out
