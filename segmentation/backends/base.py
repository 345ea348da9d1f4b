"""What every backend shares: the runner interface, the names, and the one-line errors."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Protocol

import torch

from protolabel.segmentation.yolact.config import YolactConfig
from protolabel.segmentation.yolact.model import YolactOutputs

BACKENDS = ("torch", "onnxruntime", "openvino")
PRECISIONS = ("fp32", "bf16")
EXTRA_FOR = {"onnx": "onnx", "onnxruntime": "onnx", "openvino": "openvino"}  # module -> pip extra


class BackendError(Exception):
    """A backend cannot run this model here (extra not installed, unsupported layer, bad ONNX file): one line."""


class NetworkRunner(Protocol):
    """The network alone: normalised images [B, 3, S, S] float32 -> `YolactOutputs` (float32, on `device`)."""

    name: str  # "torch" | "onnxruntime" | "openvino"
    precision: str  # "fp32" | "bf16"
    device: torch.device

    def __call__(self, images: torch.Tensor) -> YolactOutputs: ...


def import_extra(module: str) -> ModuleType:
    """Import an optional backend's package, or a BackendError naming the pip extra that brings it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        extra = EXTRA_FOR[module]
        raise BackendError(f'{module} is not installed; install the extra with: pip install -e ".[{extra}]"') from None


def has_deformable_convs(config: YolactConfig) -> bool:
    """YOLACT++ configs put deformable convolutions (DCNv2) in the backbone."""
    return any(config.dcn_layers)
