"""The network as an ONNX file (dynamic batch) that carries everything post-processing needs.

The metadata (config name, class count, class names, COCO category ids, FPN level sizes, and for
YOLACT++ the small mask re-scoring net's weights) make an .onnx alone enough for `--weights MODEL.onnx`.
Exported with torch's TorchScript exporter (opset 19: the first with DeformConv, for YOLACT++).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from protolabel.segmentation.backends.base import BackendError, import_extra
from protolabel.segmentation.errors import first_line
from protolabel.segmentation.files import atomic_write_bytes, file_sha256
from protolabel.segmentation.yolact.checkpoint import CheckpointError, ModelInfo, class_name_sidecars, load_yolact
from protolabel.segmentation.yolact.config import config_for_name
from protolabel.segmentation.yolact.head import MaskIoUNet
from protolabel.segmentation.yolact.model import Yolact
from protolabel.segmentation.yolact.optimize import fold_batch_norms

EXPORTER_VERSION = 1  # bump when the graph or the metadata change: cached exports are then made anew
OPSET = 19
INPUT_NAME = "images"
OUTPUT_NAMES = ("loc", "conf", "coefficients", "prototypes")
_PREFIX = "protolabel."


class _Network(nn.Module):
    """The exported graph: images -> (loc, conf logits, coefficients, prototypes); anchors are rebuilt outside."""

    def __init__(self, model: Yolact) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor):
        out = self.model(images)
        return out.loc, out.conf, out.coefficients, out.prototypes


def _deform_conv2d_symbolic(g, x, weight, offset, mask, bias, stride_h, stride_w, pad_h, pad_w, dil_h, dil_w,
                            weight_groups, offset_groups, use_mask):
    """torchvision::deform_conv2d as ONNX DeformConv (same offset layout: (y, x) pairs per kernel tap)."""
    inputs = [x, weight, offset, bias] + ([mask] if use_mask else [])
    return g.op("DeformConv", *inputs, strides_i=[stride_h, stride_w], pads_i=[pad_h, pad_w, pad_h, pad_w],
                dilations_i=[dil_h, dil_w], group_i=weight_groups, offset_group_i=offset_groups)


_registered = False


def _register_deform_conv() -> None:
    global _registered
    if not _registered:
        from torch.onnx import register_custom_op_symbolic
        from torch.onnx.symbolic_helper import parse_args

        symbolic = parse_args("v", "v", "v", "v", "v", "i", "i", "i", "i", "i", "i", "i", "i", "b")(
            _deform_conv2d_symbolic)
        register_custom_op_symbolic("torchvision::deform_conv2d", symbolic, OPSET)
        _registered = True


def export_onnx_bytes(model: Yolact, info: ModelInfo, source_sha256: str = "") -> bytes:
    """The serialized ONNX model of `model` (unfolded or folded) with Protolabel's metadata."""
    onnx = import_extra("onnx")
    _register_deform_conv()
    model = fold_batch_norms(model.eval().cpu())
    size = info.config.max_size
    level_sizes: list[tuple[int, int]] = []
    pyramid = model.fpn_phase_2 if info.config.split_fpn else model.fpn  # YolactEdge: the FPN's second half
    hook = pyramid.register_forward_hook(
        lambda _m, _i, out: level_sizes.__setitem__(slice(None), [tuple(int(d) for d in p.shape[-2:]) for p in out]))
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer chatter
            torch.onnx.export(
                _Network(model), (torch.zeros(1, 3, size, size),), buffer, dynamo=False, opset_version=OPSET,
                input_names=[INPUT_NAME], output_names=list(OUTPUT_NAMES),
                dynamic_axes={name: {0: "batch"} for name in (INPUT_NAME, *OUTPUT_NAMES)},
            )
    finally:
        hook.remove()
    proto = onnx.load_from_string(buffer.getvalue())
    metadata = {
        "exporter_version": str(EXPORTER_VERSION),
        "config": info.config.name,
        "num_classes": str(info.config.num_classes),
        "class_names": json.dumps(list(info.class_names)),
        "category_ids": json.dumps([int(i) for i in info.category_ids]),
        "level_sizes": json.dumps([list(s) for s in level_sizes]),
        "source_sha256": source_sha256,
    }
    if info.config.use_maskiou:
        state = io.BytesIO()
        torch.save({k: v.contiguous() for k, v in model.maskiou_net.state_dict().items()}, state)
        metadata["maskiou_net"] = base64.b64encode(state.getvalue()).decode("ascii")
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = _PREFIX + key, value
    proto.producer_name = "protolabel"
    return proto.SerializeToString()


@dataclass(frozen=True)
class OnnxModel:
    """An exported .onnx file and what its metadata says."""

    path: Path
    info: ModelInfo
    level_sizes: tuple[tuple[int, int], ...]
    maskiou_net: MaskIoUNet | None  # YOLACT++ re-scoring runs in torch, from the weights in the metadata


def read_onnx_model(path: str | Path) -> OnnxModel:
    """The metadata of an .onnx written by `protolabel export-onnx`; a BackendError (one line) if it is not one."""
    onnx = import_extra("onnx")
    path = Path(path)
    if not path.is_file():
        raise BackendError(f"{path}: no such ONNX file")
    try:
        proto = onnx.load(str(path), load_external_data=False)
        onnx.checker.check_model(proto)
    except Exception as exc:  # protobuf DecodeError on truncated or foreign bytes, checker errors
        raise BackendError(f"{path}: cannot read the ONNX model: the file is truncated or not an ONNX file "
                           f"({first_line(exc)})") from None
    meta = {p.key[len(_PREFIX):]: p.value for p in proto.metadata_props if p.key.startswith(_PREFIX)}
    if "config" not in meta:
        raise BackendError(f"{path}: an ONNX model without Protolabel's metadata (config, classes); "
                           "export it with `protolabel export-onnx WEIGHTS --out MODEL.onnx`")
    if meta.get("exporter_version") != str(EXPORTER_VERSION):
        raise BackendError(f"{path}: exported by another Protolabel version (exporter {meta.get('exporter_version')}, "
                           f"this one reads {EXPORTER_VERSION}); export it again with `protolabel export-onnx`")
    try:
        config = config_for_name(meta["config"])
        if config is None:
            raise ValueError(f"unknown config {meta['config']!r}")
        config = config.with_num_classes(int(meta["num_classes"]))
        names = tuple(json.loads(meta["class_names"]))
        ids = tuple(int(i) for i in json.loads(meta["category_ids"]))
        level_sizes = tuple((int(h), int(w)) for h, w in json.loads(meta["level_sizes"]))
        maskiou = None
        if config.use_maskiou:
            maskiou = MaskIoUNet(config.num_classes - 1)
            state = torch.load(io.BytesIO(base64.b64decode(meta["maskiou_net"])), map_location="cpu",
                               weights_only=True)
            maskiou.load_state_dict(state)
            maskiou.eval()
    except Exception as exc:
        raise BackendError(f"{path}: damaged Protolabel metadata ({first_line(exc)})") from None
    if len(names) != config.num_classes - 1 or len(ids) != len(names) or len(level_sizes) != len(config.scales):
        raise BackendError(f"{path}: damaged Protolabel metadata (class or level counts disagree)")
    return OnnxModel(path, ModelInfo(config, names, ids, path), level_sizes, maskiou)


def export_checkpoint(weights: str | Path, out: str | Path, config: str | None = None,
                      weights_sha256: str | None = None) -> OnnxModel:
    """Export a .pth checkpoint to `out` (written atomically); CheckpointError/BackendError name the problem.
    `weights_sha256`: the file's digest when the caller has it already (it is recorded in the metadata)."""
    sha = weights_sha256 or file_sha256(weights)
    model, info = load_yolact(weights, config)
    atomic_write_bytes(out, export_onnx_bytes(model, info, sha))
    return read_onnx_model(out)


def cached_export(weights: str | Path, config: str | None, cache_dir: str | Path,
                  on_export=None) -> OnnxModel:
    """The .onnx of a .pth, exported once into `cache_dir` and reused.

    Keyed by the file's SHA-256, the config asked for, the class names beside it (a .classes.json), the
    exporter and torch versions: a change to any of them makes a new export.
    """
    weights = Path(weights)
    if not weights.is_file():
        raise CheckpointError(f"{weights}: no such weights file")
    sidecars = [p for p in class_name_sidecars(weights) if p.is_file()]
    weights_sha256 = file_sha256(weights)
    key = hashlib.sha256("\n".join([
        weights_sha256, str(config), *(file_sha256(p) for p in sidecars),
        str(EXPORTER_VERSION), torch.__version__,
    ]).encode()).hexdigest()[:20]
    cache_dir = Path(cache_dir)
    out = cache_dir / f"{weights.stem}-{key}.onnx"
    if out.is_file():
        try:
            return read_onnx_model(out)
        except BackendError:
            pass  # a damaged cache entry is made anew
    if on_export is not None:
        on_export(f"exporting {weights.name} to ONNX once (cached in {cache_dir})")
    cache_dir.mkdir(parents=True, exist_ok=True)
    return export_checkpoint(weights, out, config, weights_sha256)
