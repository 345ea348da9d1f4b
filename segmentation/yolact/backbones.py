"""ResNet (optionally with DCNv2 for YOLACT++), DarkNet-53 and MobileNetV2 backbones, in the official key layout."""

from __future__ import annotations

import torch
from torch import nn
from torchvision.ops import deform_conv2d

from protolabel.segmentation.yolact.config import YolactConfig


class ModulatedDeformConv(nn.Module):
    """DCNv2 3x3 conv as the original's DCN module; offsets come from `conv_offset_mask` (spec section 9)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, 3, 3))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.conv_offset_mask = nn.Conv2d(in_channels, 27, 3, stride=stride, padding=1, bias=True)
        nn.init.kaiming_uniform_(self.weight, a=1)
        nn.init.zeros_(self.conv_offset_mask.weight)
        nn.init.zeros_(self.conv_offset_mask.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv_offset_mask(x)
        # Channels 0..17 hold (dy, dx) per tap, in torchvision's own interleaving; 18..26 the modulation.
        offset, mask = out[:, :18], torch.sigmoid(out[:, 18:])
        return deform_conv2d(x, offset, self.weight, self.bias, stride=self.stride, padding=1, mask=mask)


class Bottleneck(nn.Module):
    """ResNet v1.5 bottleneck: the stride sits on the 3x3 conv."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int, downsample: nn.Module | None, deformable: bool):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        if deformable:
            self.conv2 = ModulatedDeformConv(planes, planes, stride)
        else:
            self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + shortcut)


def _is_deformable(block: int, num_blocks: int, dcn_layers: int, interval: int) -> bool:
    """The original's placement rule (spec section 9)."""
    if block == 0:
        return dcn_layers >= num_blocks
    return block + dcn_layers >= num_blocks and block % interval == 0


class ResNetBackbone(nn.Module):
    """ResNet-50/101 returning the outputs of all four stages (C2..C5)."""

    def __init__(self, blocks: tuple[int, ...], dcn_layers=(0, 0, 0, 0), dcn_interval: int = 1) -> None:
        super().__init__()
        self.layers = nn.ModuleList()  # registered before the stem, so state_dict keys come in the official order
        self.channels: list[int] = []
        inplanes = 64
        for stage, (num_blocks, planes) in enumerate(zip(blocks, (64, 128, 256, 512))):
            stride = 1 if stage == 0 else 2
            downsample = nn.Sequential(
                nn.Conv2d(inplanes, planes * 4, 1, stride=stride, bias=False), nn.BatchNorm2d(planes * 4)
            )
            layer = []
            for b in range(num_blocks):
                deformable = _is_deformable(b, num_blocks, dcn_layers[stage], dcn_interval)
                layer.append(
                    Bottleneck(inplanes, planes, stride if b == 0 else 1, downsample if b == 0 else None, deformable)
                )
                inplanes = planes * 4
            self.layers.append(nn.Sequential(*layer))
            self.channels.append(inplanes)
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        outs = []
        for layer in self.layers:
            x = layer(x)
            outs.append(x)
        return outs

    def forward_partial(self, x: torch.Tensor, last: int) -> torch.Tensor:
        """The output of stage `last` alone, the later stages skipped (YolactEdge's non-keyframes)."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for layer in self.layers[: last + 1]:
            x = layer(x)
        return x


def _darknet_unit(in_channels: int, out_channels: int, kernel: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel, stride=stride, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.LeakyReLU(0.1, inplace=True),
    )


class DarkNetBlock(nn.Module):
    """Residual block: 1x1 halve, 3x3 restore, add (no activation after the add)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = _darknet_unit(2 * channels, channels, 1)
        self.conv2 = _darknet_unit(channels, 2 * channels, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.conv1(x)) + x


class DarkNetBackbone(nn.Module):
    """DarkNet-53 returning the outputs of its five stages."""

    def __init__(self, blocks=(1, 2, 8, 8, 4)) -> None:
        super().__init__()
        self.layers = nn.ModuleList()  # registered before the stem, so state_dict keys come in the official order
        self.channels: list[int] = []
        in_channels = 32
        for num_blocks, c in zip(blocks, (32, 64, 128, 256, 512)):
            stage = [_darknet_unit(in_channels, 2 * c, 3, stride=2)]
            stage += [DarkNetBlock(c) for _ in range(num_blocks)]
            self.layers.append(nn.Sequential(*stage))
            in_channels = 2 * c
            self.channels.append(in_channels)
        self._preconv = _darknet_unit(3, 32, 3)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self._preconv(x)
        outs = []
        for layer in self.layers:
            x = layer(x)
            outs.append(x)
        return outs


def _conv_bn_relu6(in_channels: int, out_channels: int, kernel: int, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel, stride=stride, padding=kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU6(inplace=True),
    )


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1x1 expand (skipped at expansion 1), 3x3 depthwise, 1x1 linear projection;
    the input is added back when the shape is kept."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, expansion: int) -> None:
        super().__init__()
        hidden = in_channels * expansion
        self.residual = stride == 1 and in_channels == out_channels
        units: list[nn.Module] = [] if expansion == 1 else [_conv_bn_relu6(in_channels, hidden, 1)]
        units += [
            _conv_bn_relu6(hidden, hidden, 3, stride, groups=hidden),
            nn.Conv2d(hidden, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
        ]
        self.conv = nn.Sequential(*units)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)
        return x + out if self.residual else out


# (expansion, output channels, blocks, stride of the first block) per stage, width 1.0 (the released model's).
MOBILENETV2_STAGES = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


class MobileNetV2Backbone(nn.Module):
    """MobileNetV2 as YolactEdge stores it: `layers` 0 = stem, 1..7 = the stages, 8 = the 1x1 conv to 1280.

    Layers after the deepest one the FPN reads are in every checkpoint but never run (`depth` layers run)."""

    def __init__(self, depth: int, stages: tuple[tuple[int, int, int, int], ...] = MOBILENETV2_STAGES) -> None:
        super().__init__()
        self.depth = depth
        self.layers = nn.ModuleList([_conv_bn_relu6(3, 32, 3, stride=2)])
        self.channels = [32]
        in_channels = 32
        for expansion, out_channels, num_blocks, stride in stages:
            blocks = [
                InvertedResidual(
                    in_channels if b == 0 else out_channels, out_channels, stride if b == 0 else 1, expansion
                )
                for b in range(num_blocks)
            ]
            self.layers.append(nn.Sequential(*blocks))
            self.channels.append(out_channels)
            in_channels = out_channels
        self.layers.append(_conv_bn_relu6(in_channels, 1280, 1))
        self.channels.append(1280)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outs = []
        for layer in self.layers[: self.depth]:
            x = layer(x)
            outs.append(x)
        return outs

    def forward_partial(self, x: torch.Tensor, last: int) -> torch.Tensor:
        """The output of layer `last` alone, the later layers skipped (a YolactEdge non-keyframe's C3)."""
        for layer in self.layers[: last + 1]:
            x = layer(x)
        return x


def build_backbone(config: YolactConfig) -> nn.Module:
    if config.backbone == "darknet53":
        return DarkNetBackbone()
    if config.backbone == "mobilenetv2":
        return MobileNetV2Backbone(depth=max(config.selected_layers) + 1)
    blocks = {"resnet50": (3, 4, 6, 3), "resnet101": (3, 4, 23, 3)}[config.backbone]
    return ResNetBackbone(blocks, config.dcn_layers, config.dcn_interval)
