"""Inference-only speed-ups that keep the results: BatchNorm folded into the convs, channels-last memory.

Only for a model the engine owns: the folded model no longer has the official state_dict layout
(BatchNorms become identities), so it must not be saved or trained.
"""

from __future__ import annotations

import torch
from torch import nn

from protolabel.segmentation.yolact.backbones import Bottleneck, ModulatedDeformConv


def _folded(conv: nn.Module, bn: nn.BatchNorm2d) -> None:
    """Fold an eval-mode BatchNorm into the preceding conv's weight and bias, in place."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    shift = bn.bias - bn.running_mean * scale
    bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
    conv.weight = nn.Parameter(conv.weight * scale.view(-1, 1, 1, 1))
    conv.bias = nn.Parameter(bias * scale + shift)


@torch.no_grad()
def fold_batch_norms(model: nn.Module) -> nn.Module:
    """Fold every conv -> BatchNorm pair of the backbone (ResNet, DCN, DarkNet and MobileNetV2 units)."""
    for module in model.modules():
        pairs = []
        if isinstance(module, Bottleneck):
            pairs = [("conv1", "bn1"), ("conv2", "bn2"), ("conv3", "bn3")]
        elif hasattr(module, "conv1") and isinstance(getattr(module, "bn1", None), nn.BatchNorm2d):
            pairs = [("conv1", "bn1")]  # ResNet stem
        for conv_name, bn_name in pairs:
            conv, bn = getattr(module, conv_name), getattr(module, bn_name)
            if isinstance(bn, nn.BatchNorm2d) and isinstance(conv, (nn.Conv2d, ModulatedDeformConv)):
                _folded(conv, bn)
                setattr(module, bn_name, nn.Identity())
        if isinstance(module, nn.Sequential):
            # ResNet downsample, DarkNet and MobileNetV2 conv units, MobileNetV2's projection inside its blocks
            for i in range(len(module) - 1):
                if isinstance(module[i], nn.Conv2d) and isinstance(module[i + 1], nn.BatchNorm2d):
                    _folded(module[i], module[i + 1])
                    module[i + 1] = nn.Identity()
    return model


def optimize_for_inference(model: nn.Module, device: torch.device) -> nn.Module:
    """Fold BatchNorms; on CPU also switch to channels-last, which oneDNN convolutions run faster."""
    model = fold_batch_norms(model.eval())
    if device.type == "cpu":
        model = model.to(memory_format=torch.channels_last)
    return model
