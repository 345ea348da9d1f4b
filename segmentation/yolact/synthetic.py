"""Seeded synthetic checkpoints in the official key layout, for tests, benchmarks and screenshots.

No official weights can be downloaded where the tests run, so the project makes its own: the same
tensors, bit for bit, as the documented generator `shared/tools/make_checkpoint.py` makes for the
same config and seed, so that the original implementation's reference outputs (made with that
generator's yolact_resnet50 seed 0) still apply.

The rules (one legacy `numpy.random.RandomState(seed)` stream, drawn in float64 key by key in
checkpoint order, then cast to the key's dtype):

- `*.num_batches_tracked`: 0, no draw;
- a norm's running_mean normal(0, 0.1), running_var uniform(0.5, 1.5), weight g(1 + normal(0, 0.1))
  with g = 0.2 where the norm closes a residual branch, bias normal(0, 0.1);
- DCNv2 offset convs: weight normal(0, 0.3/sqrt(fan_in)), bias normal(0, 0.1);
- the class conv: row-centred normal(0, 1) scaled by 0.5 (live classes c % 10 == 1) or 0.02 (the
  others) times sqrt(2/fan_in); the background rows a constant 0.05*sqrt(2/fan_in); its bias
  normal(0, 0.5), -6 added for non-live foreground classes; c is the output channel modulo the class
  count (conf channels / anchors per location: 81, or 41 for the YolactEdge YouTube-VIS models);
- YolactEdge flow scale maps: weight normal(0, 0.1*sqrt(2/fan_in)), bias 1 + normal(0, 0.05);
- box and coefficient convs normal(0, 0.5*sqrt(2/fan_in)); other convs normal(0, sqrt(2/fan_in));
  other biases normal(0, 0.05); anything else normal(0, sqrt(1/last dim)).

Keys, shapes, order and dtypes come from the model itself (`Yolact(config).state_dict()`, built on
the meta device, so nothing is allocated): `tests/segmentation/yolact/test_checkpoint.py` proves
they equal the official manifests, and any config (an `_im<S>` size, another class count) works.

`released=True` shapes a file like the released ones (spec section 11, "Published file facts"): it
also carries the leftover third FPN downsample layer (`fpn.downsample_layers.2.*`, drawn after every
other key, so those stay the generator's) and is written in torch's legacy (pre-zip) format.
"""

from __future__ import annotations

import io
import re
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch

from protolabel.segmentation.files import atomic_write_bytes
from protolabel.segmentation.yolact.config import YolactConfig, config_for_name
from protolabel.segmentation.yolact.model import Yolact

ManifestEntry = tuple[str, tuple[int, ...], torch.dtype]

_DEFAULT_CLASSES = 81  # the generator's class period when a manifest has no head
_LIVE_GAIN = 0.5
_DEAD_GAIN = 0.02
_BACKGROUND_KAPPA = 0.05
_BACKGROUND_BIAS = 0.0
_DEAD_BIAS = -6.0
_DARKNET_BLOCK_LAST_NORM = re.compile(r"^backbone\.layers\.\d+\.(\d+)\.conv2\.1\.weight$")


def checkpoint_manifest(config: YolactConfig | str) -> list[ManifestEntry]:
    """(key, shape, dtype) of every tensor of the config's checkpoint, in the official order."""
    if isinstance(config, str):
        resolved = config_for_name(config)
        if resolved is None:
            raise ValueError(f"unknown config {config!r}")
        config = resolved
    with torch.device("meta"):
        model = Yolact(config)
    return [(key, tuple(value.shape), value.dtype) for key, value in model.state_dict().items()]


LEFTOVER_LAYER = "fpn.downsample_layers.2"  # in the released files, not in the model (the loader drops it)
_LAST_DOWNSAMPLE = "fpn.downsample_layers.1"


def synthetic_state_dict(
    config: YolactConfig | str, seed: int = 0, *, released: bool = False
) -> OrderedDict[str, torch.Tensor]:
    """The official-layout weights make_checkpoint.py makes for this config and seed (+ the leftover layer)."""
    manifest = checkpoint_manifest(config)
    if not released:
        return state_dict_from_manifest(manifest, seed)
    leftover = [
        (key.replace(_LAST_DOWNSAMPLE, LEFTOVER_LAYER), shape, dtype)
        for key, shape, dtype in manifest
        if key.startswith(_LAST_DOWNSAMPLE + ".")
    ]
    drawn = state_dict_from_manifest(manifest + leftover, seed)
    out: OrderedDict[str, torch.Tensor] = OrderedDict()
    for key, _, _ in manifest:  # the released order: the leftover layer right after the model's last one
        out[key] = drawn[key]
        if key.startswith(_LAST_DOWNSAMPLE + ".") and key.endswith(".bias"):
            out.update((k, drawn[k]) for k, _, _ in leftover)
    return out


def state_dict_from_manifest(manifest: list[ManifestEntry], seed: int) -> OrderedDict[str, torch.Tensor]:
    """Draw every tensor of `manifest` from one RandomState(seed) stream, key by key (rules above)."""
    stream = np.random.RandomState(seed)
    keys = {key for key, _, _ in manifest}
    num_classes = _manifest_classes(manifest)
    out: OrderedDict[str, torch.Tensor] = OrderedDict()
    for key, shape, dtype in manifest:
        shape = tuple(int(s) for s in shape)
        values = _draw(stream, key, shape, keys, num_classes)
        numpy_dtype = torch.zeros(0, dtype=dtype).numpy().dtype  # cast in numpy, as the generator does
        out[key] = torch.from_numpy(np.asarray(values, dtype=np.float64).reshape(shape).astype(numpy_dtype))
    return out


def write_synthetic_checkpoint(
    path: str | Path, config: YolactConfig | str, seed: int = 0, *, released: bool = False
) -> Path:
    """Save `synthetic_state_dict(config, seed, released=...)` to `path` atomically (as torch.save would)."""
    path = Path(path)
    buffer = io.BytesIO()
    torch.save(
        synthetic_state_dict(config, seed, released=released), buffer, _use_new_zipfile_serialization=not released
    )
    atomic_write_bytes(path, buffer.getvalue())
    return path


def _manifest_classes(manifest: list[ManifestEntry]) -> int:
    """Classes incl. background: conf channels / anchors per location (box channels / 4), as the generator."""
    shapes = {key: shape for key, shape, _ in manifest}
    conf = [s[0] for k, s in shapes.items() if k.endswith("conf_layer.weight")]
    box = [s[0] for k, s in shapes.items() if k.endswith("bbox_layer.weight")]
    if not conf or not box:
        return _DEFAULT_CLASSES
    return int(conf[0]) // (int(box[0]) // 4)


def _fan_in(shape: tuple[int, ...]) -> int:
    return int(np.prod(shape[1:])) if len(shape) > 1 else int(shape[0])


def _closes_residual_branch(key: str) -> bool:
    if key.endswith(".bn3.weight"):
        return True
    match = _DARKNET_BLOCK_LAST_NORM.match(key)
    return bool(match) and int(match.group(1)) >= 1


def _draw(
    stream: np.random.RandomState, key: str, shape: tuple[int, ...], keys: set[str], num_classes: int
) -> np.ndarray:
    """The float64 values of one key; the order of the branches is the generator's rule order."""
    n = int(np.prod(shape)) if shape else 1
    prefix, _, leaf = key.rpartition(".")
    is_norm = f"{prefix}.running_mean" in keys
    if leaf == "num_batches_tracked":
        return np.zeros(shape, dtype=np.float64)
    if is_norm and leaf == "running_mean":
        return stream.normal(0.0, 0.1, size=n)
    if is_norm and leaf == "running_var":
        return stream.uniform(0.5, 1.5, size=n)
    if is_norm and leaf == "weight":
        gain = 0.2 if _closes_residual_branch(key) else 1.0
        return gain * (1.0 + stream.normal(0.0, 0.1, size=n))
    if is_norm and leaf == "bias":
        return stream.normal(0.0, 0.1, size=n)
    if key.endswith("conv_offset_mask.weight"):
        return stream.normal(0.0, 0.3 / np.sqrt(_fan_in(shape)), size=n)
    if key.endswith("conv_offset_mask.bias"):
        return stream.normal(0.0, 0.1, size=n)
    if key.endswith("conf_layer.weight"):
        return _class_conv_weight(stream, shape, n, num_classes)
    if key.endswith("conf_layer.bias"):
        cls = np.arange(n) % num_classes
        bias = stream.normal(0.0, 0.5, size=n)
        bias[cls == 0] += _BACKGROUND_BIAS
        bias[(cls != 0) & (cls % 10 != 1)] += _DEAD_BIAS
        return bias
    if key.startswith("flow_net.pred") and key.endswith(".scale.weight"):
        return stream.normal(0.0, 0.1 * np.sqrt(2.0 / _fan_in(shape)), size=n)
    if key.startswith("flow_net.pred") and key.endswith(".scale.bias"):
        return 1.0 + stream.normal(0.0, 0.05, size=n)  # a warp starts by keeping the keyframe's features
    if key.endswith("bbox_layer.weight") or key.endswith("mask_layer.weight"):
        return stream.normal(0.0, 0.5 * np.sqrt(2.0 / _fan_in(shape)), size=n)
    if leaf == "weight" and len(shape) == 4:
        return stream.normal(0.0, np.sqrt(2.0 / _fan_in(shape)), size=n)
    if leaf == "bias" and len(shape) == 1:
        return stream.normal(0.0, 0.05, size=n)
    return stream.normal(0.0, np.sqrt(1.0 / max(1, shape[-1] if shape else 1)), size=n)


def _class_conv_weight(stream: np.random.RandomState, shape: tuple[int, ...], n: int, num_classes: int) -> np.ndarray:
    """Most anchors confidently background, a few hundred decisively one of the live classes."""
    cls = np.arange(shape[0]) % num_classes
    gain = np.where(cls % 10 == 1, _LIVE_GAIN, _DEAD_GAIN)
    gain[cls == 0] = 0.0
    he = np.sqrt(2.0 / _fan_in(shape))
    rows = stream.normal(0.0, 1.0, size=n).reshape(shape[0], -1)
    rows = rows - rows.mean(axis=1, keepdims=True)  # a class ignores the all-positive common component
    rows = rows * (gain * he)[:, None]
    rows[cls == 0, :] = _BACKGROUND_KAPPA * he  # background follows the local feature sum
    return rows.reshape(-1)
