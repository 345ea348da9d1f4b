"""Starting a fine-tune from a checkpoint trained on other classes (e.g. an official COCO model).

Everything is kept except the layers whose outputs are classes: the head's conf layer
(one channel per class and anchor), the training-only semantic segmentation conv and, for
YOLACT++, the last conv of the mask re-scoring net. Their channels for classes the
checkpoint already knows by name (case and surrounding spaces ignored) are carried over,
together with the background channel when at least one class is carried over; all other
channels start fresh (Xavier-uniform weights, zero bias, as the original initialises new
layers), except the re-scoring net's: its output passes a final ReLU, and with a zero bias a new
class can start negative for every mask, so no gradient ever reaches it and its scores are
multiplied by 0. Its fresh channels get a bias of 1: they start near "IoU 1" (scores kept) and learn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from protolabel.segmentation.yolact.checkpoint import ModelInfo, load_yolact
from protolabel.segmentation.yolact.config import YolactConfig
from protolabel.segmentation.yolact.model import Yolact

CONF_LAYER = "prediction_layers.0.conf_layer"
SEMANTIC_LAYER = "semantic_seg_conv"
MASKIOU_LAST_LAYER = "maskiou_net.maskiou_net.10"
FRESH_MASKIOU_BIAS = 1.0  # keeps the final ReLU of a new class's re-scoring channel open (see above)


@dataclass(frozen=True)
class TransferReport:
    """What starting from the checkpoint kept: classes carried over by name and the layers partly re-initialised."""

    carried_over: tuple[str, ...]  # class names whose channels came from the checkpoint
    fresh: tuple[str, ...]  # class names that start from scratch
    reinitialised_layers: tuple[str, ...]  # empty when the class list is the checkpoint's own

    def describe(self) -> str:
        if not self.reinitialised_layers:
            return "class list unchanged: all weights kept"
        kept = f"kept classes {list(self.carried_over)}; " if self.carried_over else ""
        return f"{kept}new classes {list(self.fresh)}; re-initialised {', '.join(self.reinitialised_layers)}"


def class_layer_names(config: YolactConfig) -> tuple[str, ...]:
    """Module names whose output channels depend on the class list."""
    return (CONF_LAYER, SEMANTIC_LAYER) + ((MASKIOU_LAST_LAYER,) if config.use_maskiou else ())


def _key(name: str) -> str:
    return name.strip().casefold()


def prepare_model(
    weights: str | Path,
    class_names: Sequence[str],
    *,
    config_name: str | None = None,
    max_size: int | None = None,
    seed: int = 0,
) -> tuple[Yolact, ModelInfo, TransferReport]:
    """A model for `class_names` initialised from `weights` (see the module docstring), in train-ready CPU state."""
    source, info = load_yolact(weights, config_name)
    config = info.config.with_num_classes(len(class_names) + 1)
    if max_size is not None:
        config = config.with_max_size(max_size)
    model = Yolact(config)
    state = source.state_dict()
    old_names = tuple(info.class_names)
    new_names = tuple(class_names)
    report = TransferReport(old_names, (), ())
    if new_names != old_names:
        old_index = {_key(n): i for i, n in enumerate(old_names)}
        pairs = [(i, old_index[_key(n)]) for i, n in enumerate(new_names) if _key(n) in old_index]
        generator = torch.Generator().manual_seed(seed)
        old_classes, new_classes = info.config.num_classes, config.num_classes
        anchors = config.anchors_per_location
        conf_rows = [(a * new_classes + i + 1, a * old_classes + j + 1) for a in range(anchors) for i, j in pairs]
        if pairs:  # objectness transfers with the classes: keep the background channel too
            conf_rows += [(a * new_classes, a * old_classes) for a in range(anchors)]
        fg_rows = list(pairs)
        own = model.state_dict()
        layers = class_layer_names(config)
        for layer, rows in zip(layers, (conf_rows, fg_rows, fg_rows)):
            for param in ("weight", "bias"):
                key = f"{layer}.{param}"
                bias = FRESH_MASKIOU_BIAS if layer == MASKIOU_LAST_LAYER else 0.0
                fresh = _fresh(own[key], param, generator, bias)
                for new_row, old_row in rows:
                    fresh[new_row] = state[key][old_row]
                state[key] = fresh
        carried = tuple(new_names[i] for i, _ in pairs)
        report = TransferReport(carried, tuple(n for n in new_names if n not in carried), layers)
    model.load_state_dict(state)
    model_info = ModelInfo(config, new_names, tuple(range(1, len(new_names) + 1)), Path(weights))
    return model, model_info, report


def _fresh(like: torch.Tensor, param: str, generator: torch.Generator, bias: float) -> torch.Tensor:
    out = torch.empty_like(like)
    if param == "weight":
        nn.init.xavier_uniform_(out, generator=generator)
    else:
        out.fill_(bias)
    return out
