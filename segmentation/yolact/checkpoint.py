"""Loading official (and fine-tuned) YOLACT checkpoints with one clear error per problem (spec section 11)."""

from __future__ import annotations

import json
import os
import pickle
import re
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import torch

from protolabel.segmentation.errors import first_line
from protolabel.segmentation.images import natural_key
from protolabel.segmentation.input_files import MAX_SIDECAR_BYTES, InputFileError, open_input, read_input_text
from protolabel.segmentation.yolact.classes import COCO_CATEGORY_IDS, COCO_CLASSES, YOUTUBE_VIS_CLASSES
from protolabel.segmentation.yolact.config import (
    CONFIGS,
    MAX_MAX_SIZE,
    MIN_MAX_SIZE,
    YolactConfig,
    config_for_name,
    config_name_from_filename,
)
from protolabel.segmentation.yolact.edge_checkpoint import (
    UNUSED_FLOW_PREFIXES,
    edge_config_from_keys,
    fpn_keys_for,
    video_hint,
)
from protolabel.segmentation.yolact.fpn import NUM_DOWNSAMPLE
from protolabel.segmentation.yolact.model import Yolact

IGNORED_SUFFIXES = (".num_batches_tracked",)
# Training-only head and YolactEdge's unused flow branch: loaded when they fit, never required.
IGNORED_PREFIXES = ("semantic_seg_conv.", *UNUSED_FLOW_PREFIXES)
# torch saves members uncompressed; a re-zipped file deflates float weights by a few percent. Members
# that would inflate past this many times the file's size are a zip bomb, refused before inflating.
MAX_INFLATION = 4
INFLATION_SLACK = 1 << 20  # the small pickle and bookkeeping members of a tiny checkpoint


class CheckpointError(Exception):
    """The weights file cannot be used; the message says which file and why."""


@dataclass(frozen=True)
class ModelInfo:
    config: YolactConfig
    class_names: tuple[str, ...]
    category_ids: tuple[int, ...]
    weights_path: Path


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The flat name -> tensor dict in a .pth file, read safely (weights_only)."""
    path = Path(path)
    with open_weights(path) as handle:
        _check_zip_members(handle, path)
        return _load_state_dict(handle, path)


def open_weights(path: str | Path) -> BinaryIO:
    """The weights file opened for reading (input_files' rules), or a CheckpointError saying why not."""
    try:
        return open_input(path)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such weights file") from None
    except InputFileError as exc:  # a FIFO would block torch's open forever, /dev/zero never ends
        raise CheckpointError(f"{path}: not a weights file: {exc.strerror}") from None
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot open the weights file ({exc.strerror or exc})") from None


def _check_zip_members(handle, path: Path) -> None:
    """Refuse a zip checkpoint whose members inflate far beyond the file's size, from its central
    directory alone (nothing is inflated); a file that is not a zip (torch's legacy format) passes."""
    size = os.fstat(handle.fileno()).st_size
    try:
        with zipfile.ZipFile(handle) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        inflated = 0  # not a zip, or a damaged one: torch.load names the problem
    finally:
        handle.seek(0)
    bound = size * MAX_INFLATION + INFLATION_SLACK
    if inflated > bound:
        raise CheckpointError(
            f"{path}: not loaded: its zip members would unpack to {inflated:,} bytes from a {size:,}-byte file "
            f"(more than {bound:,}); a real checkpoint unpacks to about its own size, so this one is damaged "
            "or made to exhaust memory"
        )


def _load_state_dict(handle, path: Path) -> dict[str, torch.Tensor]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's pickle-protocol chatter on foreign files
            data = torch.load(handle, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "Weights only load failed" in str(exc):
            raise CheckpointError(
                f"{path}: not a plain weights file: it holds Python objects other than tensors, "
                "which are not loaded for safety (save the model's state_dict instead)"
            ) from None
        raise CheckpointError(f"{path}: cannot read weights: the file is corrupt ({exc})") from None
    except Exception as exc:  # torch raises many kinds on junk bytes (zip, EOF, struct, index errors)
        detail = first_line(exc)
        raise CheckpointError(
            f"{path}: cannot read weights: the file is truncated or not a PyTorch file ({detail})"
        ) from None
    if isinstance(data, dict) and not any(isinstance(v, torch.Tensor) for v in data.values()):
        for wrapper in ("state_dict", "model"):
            if isinstance(data.get(wrapper), dict):
                data = data[wrapper]
                break
    if not isinstance(data, dict) or not data or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise CheckpointError(
            f"{path}: not a YOLACT checkpoint (expected a dict of tensors, got {type(data).__name__})"
        )
    return dict(data)


def _drop_legacy_keys(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The original loader's two clean-ups: old `backbone.layerN` names and extra FPN downsample layers."""
    out = {}
    for key, value in state.items():
        if key.startswith("backbone.layer") and not key.startswith("backbone.layers"):
            continue
        m = re.match(r"fpn\.downsample_layers\.(\d+)\.", key)
        if m and int(m.group(1)) >= NUM_DOWNSAMPLE:
            continue
        out[key] = value
    return out


def infer_config(
    state: dict[str, torch.Tensor], path: str | Path | None = None, name: str | None = None
) -> YolactConfig:
    """The config for a checkpoint: the name given, else the official file name, else from keys and shapes."""
    try:
        if name is not None:
            config = config_for_name(name)
            if config is None:
                raise CheckpointError(
                    f"unknown config {name!r}; known configs: {', '.join(CONFIGS)} (or <config>_im<size>, "
                    f"e.g. yolact_resnet50_im320, size {MIN_MAX_SIZE} to {MAX_MAX_SIZE})"
                )
        elif path is not None and (from_name := config_name_from_filename(path)) is not None:
            config = config_for_name(from_name)
        else:
            config = _config_from_keys(state, path)
    except ValueError as exc:  # a known config at an input size out of range
        source = f"config {name!r}" if name is not None else f"{path}: the config in the file name"
        raise CheckpointError(f"{source}: {exc}") from None
    num_classes = _num_classes(state, config, path)
    if num_classes < 2:
        raise CheckpointError(
            f"{path}: the checkpoint has no object classes (its class layer has only the background class)"
        )
    return config.with_num_classes(num_classes)


def _config_from_keys(state: dict[str, torch.Tensor], path) -> YolactConfig:
    if not any(k.startswith("prediction_layers.0.") for k in state):
        raise CheckpointError(f"{path}: not a YOLACT checkpoint (no 'prediction_layers.0.*' keys)")
    plus = any(k.startswith("maskiou_net.") for k in state)
    if "backbone._preconv.0.weight" in state:
        return CONFIGS["yolact_darknet53"]
    stage3_blocks = {int(m.group(1)) for k in state if (m := re.match(r"backbone\.layers\.2\.(\d+)\.", k))}
    deep = len(stage3_blocks) > 6
    if (edge := edge_config_from_keys(state, deep)) is not None:
        return edge
    if plus:
        return CONFIGS["yolact_plus_base" if deep else "yolact_plus_resnet50"]
    # im400/im700 have the same weights as yolact_base; without a name the input size cannot be known.
    return CONFIGS["yolact_base" if deep else "yolact_resnet50"]


def _num_classes(state: dict[str, torch.Tensor], config: YolactConfig, path) -> int:
    conf = state.get("prediction_layers.0.conf_layer.weight")
    if conf is None:
        raise CheckpointError(f"{path}: not a YOLACT checkpoint (no 'prediction_layers.0.conf_layer.weight')")
    anchors = config.anchors_per_location
    if conf.shape[0] % anchors:
        raise CheckpointError(
            f"{path}: conf layer has {conf.shape[0]} outputs, not a multiple of the {anchors} anchors per "
            f"location of config {config.name}"
        )
    return conf.shape[0] // anchors


def _group_by_module(keys) -> list[str]:
    """Keys summarised per module ('backbone.layers.2.6.*'), in natural order, so long lists stay readable."""
    modules: dict[str, int] = {}
    for key in keys:
        parts = key.split(".")
        module = ".".join(parts[:4]) if len(parts) > 4 else ".".join(parts[:-1]) or key
        modules[module] = modules.get(module, 0) + 1
    return [
        f"{m}.* ({n} keys)" if n > 1 else f"{m}.*" for m, n in sorted(modules.items(), key=lambda i: natural_key(i[0]))
    ]


def _describe_mismatch(model: Yolact, state: dict[str, torch.Tensor], config: YolactConfig, path) -> str | None:
    expected = {k: v.shape for k, v in model.state_dict().items() if not k.endswith(IGNORED_SUFFIXES)}
    given = {k: v.shape for k, v in state.items() if not k.endswith(IGNORED_SUFFIXES)}
    required = {k for k in expected if not k.startswith(IGNORED_PREFIXES)}
    missing = _group_by_module(required - given.keys())
    unexpected = _group_by_module(k for k in given.keys() - expected.keys() if not k.startswith(IGNORED_PREFIXES))
    shapes = sorted(
        f"{k} (file {list(given[k])}, {config.name} needs {list(expected[k])})"
        for k in required & given.keys()
        if given[k] != expected[k]
    )
    if not (missing or unexpected or shapes):
        return None

    def listing(title: str, items: list[str]) -> str:
        more = f", ... ({len(items) - 5} more)" if len(items) > 5 else ""
        return f"{title}: {', '.join(items[:5])}{more}"

    parts = [
        listing(t, i)
        for t, i in (("missing keys", missing), ("unexpected keys", unexpected), ("shape mismatches", shapes))
        if i
    ]
    hint = ""
    if any(k.startswith("maskiou_net.") for k in unexpected):
        hint = " (this looks like a YOLACT++ checkpoint; try a yolact_plus_* config)"
    elif any(k.startswith("maskiou_net.") for k in missing):
        hint = " (this looks like a YOLACT v1 checkpoint; try a non-plus config)"
    else:
        hint = video_hint(missing, unexpected, config)
    return f"{path}: does not match config {config.name}{hint}: " + "; ".join(parts)


def class_name_sidecars(path: str | Path) -> tuple[Path, Path]:
    """Where a checkpoint's class names may be written beside it: `<stem>.classes.json`, `<name>.classes.json`."""
    path = Path(path)
    return path.with_suffix(".classes.json"), path.with_name(path.name + ".classes.json")


def class_names_for(
    path: str | Path, num_classes: int, dataset: str = "coco"
) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """Class names and category ids: a sidecar file, else COCO for 81-class models (YouTube-VIS for 41-class
    YolactEdge ones), else class_1..N."""
    foreground = num_classes - 1
    for sidecar in class_name_sidecars(path):
        if sidecar.exists():
            try:
                names = json.loads(read_input_text(sidecar, MAX_SIDECAR_BYTES, what="class list"))
            except (OSError, ValueError) as exc:
                raise CheckpointError(f"{sidecar}: cannot read class names ({exc})") from None
            if isinstance(names, dict):
                names = names.get("classes")
            if not isinstance(names, list) or len(names) != foreground or not all(isinstance(n, str) for n in names):
                raise CheckpointError(f"{sidecar}: expected a JSON list of {foreground} class names")
            ids = tuple(COCO_CATEGORY_IDS) if tuple(names) == COCO_CLASSES else tuple(range(1, foreground + 1))
            return tuple(names), ids
    if foreground == len(COCO_CLASSES):
        return COCO_CLASSES, COCO_CATEGORY_IDS
    if dataset == "youtube_vis" and foreground == len(YOUTUBE_VIS_CLASSES):
        return YOUTUBE_VIS_CLASSES, tuple(range(1, foreground + 1))  # the label map is the identity
    return tuple(f"class_{i}" for i in range(1, foreground + 1)), tuple(range(1, foreground + 1))


def non_finite_tensors(state: dict[str, torch.Tensor]) -> list[str]:
    """Names of the floating-point tensors holding NaN or infinite values, in file order."""
    return [k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]


def check_finite(state: dict[str, torch.Tensor], path) -> None:
    """Refuse weights with NaN/inf values: such a model detects nothing (or garbage) without a word."""
    bad = non_finite_tensors(state)
    if bad:
        shown = ", ".join(bad[:5]) + (f", ... ({len(bad) - 5} more)" if len(bad) > 5 else "")
        raise CheckpointError(
            f"{path}: {len(bad)} tensor(s) hold NaN or infinite values ({shown}); "
            "the weights are damaged (a diverged training run?) and are not loaded"
        )


def load_yolact(path: str | Path, config_name: str | None = None) -> tuple[Yolact, ModelInfo]:
    """Build the model for a checkpoint and load its weights (eval mode, CPU)."""
    path = Path(path)
    state = read_state_dict(path)
    check_finite(state, path)
    config = infer_config(state, path, config_name)
    state = fpn_keys_for(_drop_legacy_keys(state), config)
    model = Yolact(config)
    problem = _describe_mismatch(model, state, config, path)
    if problem:
        raise CheckpointError(problem)
    own = model.state_dict()
    usable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    model.load_state_dict(usable, strict=False)
    model.eval()
    names, ids = class_names_for(path, config.num_classes, config.dataset)
    return model, ModelInfo(config, names, ids, path)
