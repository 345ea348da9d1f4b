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
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from protolabel.segmentation.backends.base import BackendError, import_extra
from protolabel.segmentation.errors import first_line
from protolabel.segmentation.files import atomic_write_bytes, file_sha256
from protolabel.segmentation.folders import path_inside
from protolabel.segmentation.input_files import InputFileError, check_input_file, read_input_bytes
from protolabel.segmentation.yolact.checkpoint import ModelInfo, class_name_sidecars, load_yolact, open_weights
from protolabel.segmentation.yolact.config import config_for_name
from protolabel.segmentation.yolact.head import MaskIoUNet
from protolabel.segmentation.yolact.model import Yolact
from protolabel.segmentation.yolact.optimize import fold_batch_norms

EXPORTER_VERSION = 1  # bump when the graph or the metadata change: cached exports are then made anew
OPSET = 19
INPUT_NAME = "images"
OUTPUT_NAMES = ("loc", "conf", "coefficients", "prototypes")
_PREFIX = "protolabel."
MAX_ONNX_BYTES = 2 << 30  # protobuf's own limit for one serialized model
MAX_ONNX_EXTERNAL_BYTES = 4 << 30  # the largest YOLACT (yolact_plus_base) holds about 0.15 GB of weights


class _Network(nn.Module):
    """The exported graph: images -> (loc, conf logits, coefficients, prototypes); anchors are rebuilt outside."""

    def __init__(self, model: Yolact) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor):
        out = self.model(images)
        return out.loc, out.conf, out.coefficients, out.prototypes


def _deform_conv2d_symbolic(
    g,
    x,
    weight,
    offset,
    mask,
    bias,
    stride_h,
    stride_w,
    pad_h,
    pad_w,
    dil_h,
    dil_w,
    weight_groups,
    offset_groups,
    use_mask,
):
    """torchvision::deform_conv2d as ONNX DeformConv (same offset layout: (y, x) pairs per kernel tap)."""
    inputs = [x, weight, offset, bias] + ([mask] if use_mask else [])
    return g.op(
        "DeformConv",
        *inputs,
        strides_i=[stride_h, stride_w],
        pads_i=[pad_h, pad_w, pad_h, pad_w],
        dilations_i=[dil_h, dil_w],
        group_i=weight_groups,
        offset_group_i=offset_groups,
    )


_registered = False


def _register_deform_conv() -> None:
    global _registered
    if not _registered:
        from torch.onnx import register_custom_op_symbolic
        from torch.onnx.symbolic_helper import parse_args

        symbolic = parse_args("v", "v", "v", "v", "v", "i", "i", "i", "i", "i", "i", "i", "i", "b")(
            _deform_conv2d_symbolic
        )
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
        lambda _m, _i, out: level_sizes.__setitem__(slice(None), [tuple(int(d) for d in p.shape[-2:]) for p in out])
    )
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer chatter
            torch.onnx.export(
                _Network(model),
                (torch.zeros(1, 3, size, size),),
                buffer,
                dynamo=False,
                opset_version=OPSET,
                input_names=[INPUT_NAME],
                output_names=list(OUTPUT_NAMES),
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
    try:
        data = read_input_bytes(path, MAX_ONNX_BYTES, what="ONNX model")
    except FileNotFoundError:
        raise BackendError(f"{path}: no such ONNX file") from None
    except InputFileError as exc:  # a FIFO would block the open forever, /dev/zero never ends
        raise BackendError(f"{path}: not an ONNX model: {exc.strerror}") from None
    except OSError as exc:
        raise BackendError(f"{path}: cannot open the ONNX model ({exc.strerror or exc})") from None
    try:
        proto = onnx.load_model_from_string(data)
        del data
        external = check_external_data(proto, path)
        # The checker resolves external data against the model's folder only when given the path
        # (given the proto, against the working folder); check_external_data has judged those files.
        onnx.checker.check_model(str(path) if external else proto)
    except BackendError:
        raise
    except Exception as exc:  # protobuf DecodeError on truncated or foreign bytes, checker errors
        raise BackendError(
            f"{path}: cannot read the ONNX model: the file is truncated or not an ONNX file ({first_line(exc)})"
        ) from None
    meta = {p.key[len(_PREFIX) :]: p.value for p in proto.metadata_props if p.key.startswith(_PREFIX)}
    if "config" not in meta:
        raise BackendError(
            f"{path}: an ONNX model without Protolabel's metadata (config, classes); "
            "export it with `protolabel export-onnx WEIGHTS --out MODEL.onnx`"
        )
    if meta.get("exporter_version") != str(EXPORTER_VERSION):
        raise BackendError(
            f"{path}: exported by another Protolabel version (exporter {meta.get('exporter_version')}, "
            f"this one reads {EXPORTER_VERSION}); export it again with `protolabel export-onnx`"
        )
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
            state = torch.load(io.BytesIO(base64.b64decode(meta["maskiou_net"])), map_location="cpu", weights_only=True)
            maskiou.load_state_dict(state)
            maskiou.eval()
    except Exception as exc:
        raise BackendError(f"{path}: damaged Protolabel metadata ({first_line(exc)})") from None
    if len(names) != config.num_classes - 1 or len(ids) != len(names) or len(level_sizes) != len(config.scales):
        raise BackendError(f"{path}: damaged Protolabel metadata (class or level counts disagree)")
    return OnnxModel(path, ModelInfo(config, names, ids, path), level_sizes, maskiou)


def check_external_data(proto, path: Path) -> int:
    """The bytes of the model's tensors kept in external data files, checked before any runtime reads them:
    each file must lie in the model's folder (no `..`, absolute path or symlink out of it), be a regular
    file holding the bytes the model says, and all of them together at most MAX_ONNX_EXTERNAL_BYTES."""
    folder = path.parent
    sizes: dict[str, int] = {}
    total = 0
    for tensor in _all_tensors(proto):
        if tensor.data_location != tensor.EXTERNAL:
            continue
        fields = {entry.key: entry.value for entry in tensor.external_data}
        location = fields.get("location", "")
        where = f"{path}: external data {location!r} of tensor {tensor.name!r}"
        real = path_inside(folder, location) if location and not os.path.isabs(location) else None
        if real is None:
            raise BackendError(
                f"{where} lies outside the model's folder; it is not read (external data must "
                "be in the .onnx file's folder)"
            )
        if location not in sizes:
            try:
                sizes[location] = check_input_file(real)
            except FileNotFoundError:
                raise BackendError(f"{where} is missing: copy it beside the .onnx file") from None
            except OSError as exc:
                raise BackendError(f"{where} cannot be read ({exc.strerror or exc})") from None
        try:
            offset = int(fields.get("offset", 0))
            length = int(fields["length"]) if "length" in fields else sizes[location] - offset
        except ValueError:
            raise BackendError(f"{where}: offset or length is not a number") from None
        if offset < 0 or length < 0 or offset + length > sizes[location]:
            raise BackendError(
                f"{where}: the file holds {sizes[location]:,} bytes, the model wants bytes "
                f"{offset:,} to {offset + length:,} (a truncated or mismatched file)"
            )
        total += length
        if total > MAX_ONNX_EXTERNAL_BYTES:
            raise BackendError(
                f"{path}: its external data is more than {MAX_ONNX_EXTERNAL_BYTES:,} bytes, far "
                "beyond any YOLACT model; it is not read"
            )
    return total


def _all_tensors(proto):
    """Every initializer of the graph and of its sub-graphs (where external data may be referenced)."""
    graphs = [proto.graph]
    while graphs:
        graph = graphs.pop()
        yield from graph.initializer
        for node in graph.node:
            for attribute in node.attribute:
                if attribute.HasField("t"):
                    yield attribute.t
                if attribute.HasField("g"):
                    graphs.append(attribute.g)
                graphs.extend(attribute.graphs)


def export_checkpoint(
    weights: str | Path, out: str | Path, config: str | None = None, weights_sha256: str | None = None
) -> OnnxModel:
    """Export a .pth checkpoint to `out` (written atomically); CheckpointError/BackendError name the problem.
    `weights_sha256`: the file's digest when the caller has it already (it is recorded in the metadata)."""
    model, info = load_yolact(weights, config)  # first: it refuses a FIFO or device, which hashing would block on
    sha = weights_sha256 or file_sha256(weights)
    atomic_write_bytes(out, export_onnx_bytes(model, info, sha))
    return read_onnx_model(out)


def cached_export(weights: str | Path, config: str | None, cache_dir: str | Path, on_export=None) -> OnnxModel:
    """The .onnx of a .pth, exported once into `cache_dir` and reused.

    Keyed by the file's SHA-256, the config asked for, the class names beside it (a .classes.json), the
    exporter and torch versions: a change to any of them makes a new export.
    """
    weights = Path(weights)
    with open_weights(weights) as handle:  # a FIFO or a device is refused, not hashed forever
        weights_sha256 = hashlib.file_digest(handle, "sha256").hexdigest()
    sidecars = [p for p in class_name_sidecars(weights) if p.is_file()]
    key = hashlib.sha256(
        "\n".join(
            [
                weights_sha256,
                str(config),
                *(file_sha256(p) for p in sidecars),
                str(EXPORTER_VERSION),
                torch.__version__,
            ]
        ).encode()
    ).hexdigest()[:20]
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
