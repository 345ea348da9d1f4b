"""What loading a YolactEdge checkpoint adds to YOLACT's loader (yolactedge spec, section 2): the two FPN
namings, the config from the keys, and the message for a video model without its flow net."""

from __future__ import annotations

import torch

from protolabel.segmentation.yolact.config import CONFIGS, YolactConfig

# The FPN keys of a YolactEdge model, by module: phase 1 holds the laterals, phase 2 the 3x3 and stride-2 convs.
_PHASE_OF = {"lat_layers": "fpn_phase_1", "pred_layers": "fpn_phase_2", "downsample_layers": "fpn_phase_2"}
# In every video checkpoint, never used by a released config (P3 is not warped): loaded when present.
UNUSED_FLOW_PREFIXES = ("flow_net.pred1.", "flow_net.upfeat2.", "flow_net.upflow2.")
VIDEO_PREFIXES = ("flow_net.", "flow_net_pre_convs.", "spa.")


def fpn_keys_for(state: dict[str, torch.Tensor], config: YolactConfig) -> dict[str, torch.Tensor]:
    """The state with its FPN keys in the config's naming: `fpn.*` (YOLACT) or `fpn_phase_1/2.*` (YolactEdge).

    The original renames YOLACT's keys on load, so a YOLACT file runs in a YolactEdge image config; the
    reverse is accepted too (the two networks are the same)."""
    out = {}
    for key, value in state.items():
        head, _, rest = key.partition(".")
        module = rest.partition(".")[0]
        if config.split_fpn and head == "fpn" and module in _PHASE_OF:
            key = f"{_PHASE_OF[module]}.{rest}"
        elif not config.split_fpn and head in ("fpn_phase_1", "fpn_phase_2") and _PHASE_OF.get(module) == head:
            key = f"fpn.{rest}"
        out[key] = value
    return out


def is_mobilenetv2(state: dict[str, torch.Tensor]) -> bool:
    """MobileNetV2 blocks keep their units in `conv` (`backbone.layers.1.0.conv.0.0.weight`); ResNet and
    DarkNet name theirs conv1/conv2/conv3."""
    return any(k.startswith("backbone.layers.") and ".conv." in k for k in state)


def edge_config_from_keys(state: dict[str, torch.Tensor], deep: bool) -> YolactConfig | None:
    """The YolactEdge config a renamed file (no official name) holds, or None for a YOLACT layout."""
    if is_mobilenetv2(state):
        return CONFIGS["yolact_edge_mobilenetv2"]  # the only MobileNetV2 config, with either FPN naming
    if not any(k.startswith("fpn_phase_1.") for k in state):
        return None
    conf = state.get("prediction_layers.0.conf_layer.bias")
    youtube_vis = conf is not None and conf.shape[0] == 3 * 41
    if any(k.startswith("flow_net.") for k in state):
        name = "yolact_edge_vid" if any(k.startswith("spa.") for k in state) else "yolact_edge_vid_minimal"
    else:
        name = "yolact_edge_youtubevis" if youtube_vis else "yolact_edge"
    if not deep:
        name += "_resnet50"
    return CONFIGS.get(name)


def video_hint(missing: list[str], unexpected: list[str], config: YolactConfig) -> str:
    """The reason behind a mismatch that comes from the flow net and SPA being absent or extra."""
    if config.backbone == "mobilenetv2" and any(u.startswith(VIDEO_PREFIXES) for u in unexpected):
        return (
            " (a MobileNetV2 model with a flow net: the original YolactEdge has no such configuration, and "
            "only the ResNet-50/101 video models run the keyframe path)"
        )
    if any(m.startswith(VIDEO_PREFIXES) for m in missing):
        return (
            " (the checkpoint has no flow net / SPA tensors, which the video config needs: it looks like a "
            "YolactEdge image model; load it with its own config, e.g. yolact_edge_resnet50, and run every "
            "frame as a keyframe)"
        )
    if any(u.startswith(VIDEO_PREFIXES) for u in unexpected):
        return " (this looks like a YolactEdge video checkpoint; try a yolact_edge_vid* config)"
    return ""
