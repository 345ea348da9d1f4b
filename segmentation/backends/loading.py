"""A checkpoint (.pth) or an exported .onnx -> the network runner of the chosen backend, plus what the
engine's post-processing needs (model info, YOLACT++'s re-scoring net)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import nn

from protolabel.segmentation.backends.base import BackendError, NetworkRunner
from protolabel.segmentation.backends.selection import choose_backend
from protolabel.segmentation.yolact.checkpoint import ModelInfo, infer_config, load_yolact, read_state_dict
from protolabel.segmentation.yolact.model import Yolact
from protolabel.segmentation.yolact.optimize import optimize_for_inference


@dataclass(frozen=True)
class LoadedNetwork:
    runner: NetworkRunner
    info: ModelInfo
    maskiou_net: nn.Module | None  # YOLACT++ mask re-scoring (torch, on the engine's device)
    model: Yolact | None  # the torch model, for the torch backend only


def is_onnx(weights: str | Path) -> bool:
    return Path(weights).suffix.lower() == ".onnx"


def load_network(
    weights: str | Path,
    config: str | None,
    device: torch.device,
    backend: str | None = None,
    precision: str | None = None,
    cache_dir: str | Path | None = None,
    on_export: Callable[[str], None] | None = None,
) -> LoadedNetwork:
    """Load `weights` for `backend` ("auto" chooses, see selection.AUTO_ORDER; None: torch for a .pth, auto
    for an .onnx).

    A .pth on an ONNX backend is exported on the fly: into `cache_dir` once (reused while the file,
    config and exporter stay the same), or, without a cache folder, into a temporary one each time.
    """
    from protolabel.segmentation.backends import onnx_export

    if backend is None:
        backend = "auto" if is_onnx(weights) else "torch"
    if is_onnx(weights):
        if backend == "torch":
            raise BackendError(
                f"{weights}: an .onnx model runs on --backend onnxruntime or openvino (or auto), not torch"
            )
        onnx_model = onnx_export.read_onnx_model(weights)
        if config is not None and config != onnx_model.info.config.name:
            raise BackendError(f"{weights}: exported for config {onnx_model.info.config.name}, not {config}")
        name, precision = choose_backend(backend, precision, device, onnx_model.info.config, onnx_input=True)
        return _onnx_network(onnx_model, name, precision, device)
    if backend == "torch" or backend == "auto":
        # The config decides what auto may pick (openvino has no deformable convs): read it first.
        target = infer_config(read_state_dict(weights), weights, config) if backend == "auto" else None
        name, precision = choose_backend(backend, precision, device, target, onnx_input=False)
    else:
        name, precision = choose_backend(backend, precision, device, None, onnx_input=False)
    if name == "torch":
        from protolabel.segmentation.backends.torch_runner import TorchRunner

        model, info = load_yolact(weights, config)
        model = optimize_for_inference(model.to(device), device)
        maskiou = model.maskiou_net if info.config.use_maskiou else None
        return LoadedNetwork(TorchRunner(model, device, precision), info, maskiou, model)
    _check_before_export(name, weights, config, device)
    if cache_dir is not None:
        loaded = _onnx_network(
            onnx_export.cached_export(weights, config, cache_dir, on_export), name, precision, device
        )
    else:
        with tempfile.TemporaryDirectory(prefix="protolabel-onnx-") as tmp:
            exported = onnx_export.export_checkpoint(weights, Path(tmp) / "model.onnx", config)
            loaded = _onnx_network(exported, name, precision, device)  # the runtimes read the file now
    return replace(loaded, info=replace(loaded.info, weights_path=Path(weights)))  # the user's file, not the export


def _check_before_export(backend: str, weights, config: str | None, device: torch.device) -> None:
    """Refusals that need no export (missing extra, unsupported config or device) come before the minute it takes."""
    from protolabel.segmentation.backends.base import import_extra

    import_extra("onnx")
    import_extra(backend)
    if backend == "openvino":
        from protolabel.segmentation.backends.openvino_runner import check_supported

        check_supported(infer_config(read_state_dict(weights), weights, config), device)


def _onnx_network(onnx_model, backend: str, precision: str, device: torch.device) -> LoadedNetwork:
    if backend == "onnxruntime":
        from protolabel.segmentation.backends.onnxruntime_runner import OnnxRuntimeRunner as Runner
    else:
        from protolabel.segmentation.backends.openvino_runner import OpenVinoRunner as Runner
    runner = Runner(onnx_model, device, precision)
    maskiou = onnx_model.maskiou_net.to(device) if onnx_model.maskiou_net is not None else None
    return LoadedNetwork(runner, onnx_model.info, maskiou, None)
