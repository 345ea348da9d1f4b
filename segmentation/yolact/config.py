"""Frozen configurations of the official YOLACT, YOLACT++ and YolactEdge models (facts from the specs, section 1)."""

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
    backbone: str  # "resnet50" | "resnet101" | "darknet53" | "mobilenetv2"
    max_size: int  # the network input is max_size x max_size (images are stretched)
    selected_layers: tuple[int, ...]
    scales: tuple[tuple[float, ...], ...]  # anchor scales per FPN level P3..P7, in pixels of max_size
    square_anchors: bool  # YOLACT v1 bug the official v1 weights depend on
    dcn_layers: tuple[int, int, int, int] = (0, 0, 0, 0)
    dcn_interval: int = 1
    use_maskiou: bool = False  # YOLACT++ fast mask re-scoring
    num_classes: int = 81  # including background
    num_prototypes: int = 32
    # YolactEdge: the FPN is stored as two modules (fpn_phase_1 laterals + top-down, fpn_phase_2 convs),
    # so that a video frame can rebuild the top-down maps from warped keyframe features in between.
    split_fpn: bool = False
    video: bool = False  # YolactEdge video model: flow net warps the keyframe's P4/P5 (yolactedge spec section 4)
    use_spa: bool = False  # feature refinement of the warped maps (every released video model)
    dataset: str = "coco"  # "coco" | "youtube_vis": where the class names come from

    @property
    def anchors_per_location(self) -> int:
        return len(self.scales[0]) * len(ASPECT_RATIOS)

    def with_num_classes(self, num_classes: int) -> YolactConfig:
        return replace(self, num_classes=num_classes)

    def with_max_size(self, max_size: int) -> YolactConfig:
        """The same network for a max_size x max_size input, named `<family>_im<S>`.

        Anchor scales follow the input size the way the official im400/im700 configs derive
        theirs from yolact_base: int(s / 550 * S) of the base scales (then the 3 octave
        scales for YOLACT++), so that anchors cover the same fraction of the image.
        """
        if max_size == self.max_size:
            return self
        minimum = MIN_MAX_SIZE_PLUS if self.use_maskiou else MIN_MAX_SIZE
        if max_size < minimum:
            why = " (the mask re-scoring net downsamples the prototypes five times)" if self.use_maskiou else ""
            raise ValueError(
                f"{self.name}: max_size must be at least {minimum}{why} and at most {MAX_MAX_SIZE}, got {max_size}"
            )
        if max_size > MAX_MAX_SIZE:
            raise ValueError(
                f"{self.name}: max_size must be at most {MAX_MAX_SIZE} (and at least {minimum}), got {max_size}"
            )
        base = [float(int(s / 550 * max_size)) for s in _BASE_SCALES]
        per_location = len(self.scales[0])
        scales = tuple(tuple(b * 2 ** (i / per_location) for i in range(per_location)) for b in base)
        family = config_family(self.name)
        return replace(self, name=sized_config_name(family, max_size), max_size=max_size, scales=scales)


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
            "yolact_plus_base",
            "resnet101",
            550,
            (1, 2, 3),
            _PLUS_SCALES,
            False,
            dcn_layers=(0, 4, 23, 3),
            dcn_interval=3,
            use_maskiou=True,
        ),
        YolactConfig(
            "yolact_plus_resnet50",
            "resnet50",
            550,
            (1, 2, 3),
            _PLUS_SCALES,
            False,
            dcn_layers=(0, 4, 6, 3),
            dcn_interval=1,
            use_maskiou=True,
        ),
    )
}
_EDGE = dict(split_fpn=True)
_EDGE_VIS = dict(split_fpn=True, num_classes=41, dataset="youtube_vis")
CONFIGS.update(
    {
        c.name: c
        for c in (
            YolactConfig("yolact_edge", "resnet101", 550, (1, 2, 3), _V1_SCALES, True, **_EDGE),
            YolactConfig("yolact_edge_resnet50", "resnet50", 550, (1, 2, 3), _V1_SCALES, True, **_EDGE),
            # An image model only: the original has no MobileNetV2 video config (see docs/yolactedge.md).
            YolactConfig("yolact_edge_mobilenetv2", "mobilenetv2", 550, (3, 4, 6), _V1_SCALES, True, **_EDGE),
            YolactConfig("yolact_edge_youtubevis", "resnet101", 550, (1, 2, 3), _V1_SCALES, True, **_EDGE_VIS),
            YolactConfig("yolact_edge_youtubevis_resnet50", "resnet50", 550, (1, 2, 3), _V1_SCALES, True, **_EDGE_VIS),
            YolactConfig(
                "yolact_edge_vid", "resnet101", 550, (1, 2, 3), _V1_SCALES, True, video=True, use_spa=True, **_EDGE_VIS
            ),
            YolactConfig(
                "yolact_edge_vid_resnet50",
                "resnet50",
                550,
                (1, 2, 3),
                _V1_SCALES,
                True,
                video=True,
                use_spa=True,
                **_EDGE_VIS,
            ),
            YolactConfig(
                "yolact_edge_vid_minimal", "resnet101", 550, (1, 2, 3), _V1_SCALES, True, video=True, **_EDGE_VIS
            ),
        )
    }
)

MIN_MAX_SIZE = 64  # below this the smallest anchors shrink to a pixel or less
MIN_MAX_SIZE_PLUS = 249  # YOLACT++: the prototypes (2 * ceil(S / 8)) must survive five stride-2 3x3 convs
# The input is S x S x 3 float32 per image, plus anchors and features in proportion: 2048 (14x the
# official im700's pixels) costs about 50 MB of input per image; im20000 would ask for 4.8 GB.
MAX_MAX_SIZE = 2048
DEFAULT_KEYFRAME_INTERVAL = 5  # YolactEdge's fixed period: frame i is a keyframe iff i % 5 == 0
_SIZED_NAME = re.compile(r"^(?P<family>.+)_im(?P<size>\d+)$")


def config_family(name: str) -> str:
    """The official config a (possibly resized) config derives from: yolact_im700 -> yolact_base."""
    match = _SIZED_NAME.match(name)
    if match is None:
        return name
    family = match.group("family")
    return "yolact_base" if family == "yolact" else family


def sized_config_name(family: str, max_size: int) -> str:
    """Name of `family` at another input size, following the official yolact_im400/yolact_im700 naming."""
    if max_size == 550:
        return family
    return f"yolact_im{max_size}" if family == "yolact_base" else f"{family}_im{max_size}"


def config_for_name(name: str) -> YolactConfig | None:
    """An official config, or `<official>_im<S>` (e.g. a fine-tuned yolact_resnet50_im320); None if unknown.

    Raises ValueError, naming the allowed range, for a known config at a size out of range
    (e.g. yolact_resnet50_im32 or yolact_resnet50_im20000)."""
    if name in CONFIGS:
        return CONFIGS[name]
    match = _SIZED_NAME.match(name)
    if match is None:
        return None
    family = config_family(name)
    if family not in CONFIGS or _SIZED_NAME.match(family):
        return None
    size = int(match.group("size"))
    if sized_config_name(family, size) != name:
        return None  # one spelling per config (yolact_im300, not yolact_base_im300)
    config = CONFIGS[family].with_max_size(size)  # ValueError for a size out of range
    return config if config.name == name else None


_EPOCH_ITERATION = re.compile(r"^(?P<name>.+?)_\d+_\d+$")


def config_name_from_filename(path: str | Path) -> str | None:
    """Official naming: strip '.pth' and the trailing '_<epoch>_<iteration>' (spec section 1).

    Resized configs (`yolact_resnet50_im320_3_1200.pth`, as training saves them) are recognised too;
    a known config at a size out of range raises ValueError (as `config_for_name`).
    """
    stem = Path(path).name
    if stem.endswith(".pth"):
        stem = stem[: -len(".pth")]
    match = _EPOCH_ITERATION.match(stem)
    name = match.group("name") if match else stem
    return name if config_for_name(name) is not None else None
