"""Frozen configurations of the official YOLACT and YOLACT++ models (facts from the spec, section 1)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

_BASE_SCALES = (24, 48, 96, 192, 384)
ASPECT_RATIOS = (1.0, 0.5, 2.0)


@dataclass(frozen=True)
class YolactConfig:
    """Everything that differs between the official models, and nothing else."""

    name: str
    backbone: str  # "resnet50" | "resnet101" | "darknet53"
    max_size: int  # the network input is max_size x max_size (images are stretched)
    selected_layers: tuple[int, ...]
    scales: tuple[tuple[float, ...], ...]  # anchor scales per FPN level P3..P7, in pixels of max_size
    square_anchors: bool  # YOLACT v1 bug the official v1 weights depend on
    dcn_layers: tuple[int, int, int, int] = (0, 0, 0, 0)
    dcn_interval: int = 1
    use_maskiou: bool = False  # YOLACT++ fast mask re-scoring
    num_classes: int = 81  # including background
    num_prototypes: int = 32

    @property
    def anchors_per_location(self) -> int:
        return len(self.scales[0]) * len(ASPECT_RATIOS)

    @property
    def is_plus(self) -> bool:
        return self.use_maskiou

    def with_num_classes(self, num_classes: int) -> YolactConfig:
        return replace(self, num_classes=num_classes)


def _scaled(size: int) -> tuple[tuple[float, ...], ...]:
    return tuple((float(int(s / 550 * size)),) for s in _BASE_SCALES)


_PLUS_SCALES = tuple(tuple(s * 2 ** (i / 3.0) for i in range(3)) for s in _BASE_SCALES)
_V1_SCALES = tuple((float(s),) for s in _BASE_SCALES)

CONFIGS: dict[str, YolactConfig] = {
    c.name: c
    for c in (
        YolactConfig("yolact_base", "resnet101", 550, (1, 2, 3), _V1_SCALES, True),
        YolactConfig("yolact_im400", "resnet101", 400, (1, 2, 3), _scaled(400), True),
        YolactConfig("yolact_im700", "resnet101", 700, (1, 2, 3), _scaled(700), True),
        YolactConfig("yolact_resnet50", "resnet50", 550, (1, 2, 3), _V1_SCALES, True),
        YolactConfig("yolact_darknet53", "darknet53", 550, (2, 3, 4), _V1_SCALES, True),
        YolactConfig(
            "yolact_plus_base", "resnet101", 550, (1, 2, 3), _PLUS_SCALES, False,
            dcn_layers=(0, 4, 23, 3), dcn_interval=3, use_maskiou=True,
        ),
        YolactConfig(
            "yolact_plus_resnet50", "resnet50", 550, (1, 2, 3), _PLUS_SCALES, False,
            dcn_layers=(0, 4, 6, 3), dcn_interval=1, use_maskiou=True,
        ),
    )
}

_EPOCH_ITERATION = re.compile(r"^(?P<name>.+?)_\d+_\d+$")


def config_name_from_filename(path: str | Path) -> str | None:
    """Official naming: strip '.pth' and the trailing '_<epoch>_<iteration>' (spec section 1)."""
    stem = Path(path).name
    if stem.endswith(".pth"):
        stem = stem[: -len(".pth")]
    match = _EPOCH_ITERATION.match(stem)
    name = match.group("name") if match else stem
    return name if name in CONFIGS else None
