"""The OpenVINO backend: an exported .onnx compiled for the CPU, precision hint f32 or bf16."""

from __future__ import annotations

import threading
from typing import Any

import torch

from protolabel.segmentation.backends.base import BackendError, has_deformable_convs, import_extra
from protolabel.segmentation.backends.onnx_export import OnnxModel
from protolabel.segmentation.errors import first_line
from protolabel.segmentation.yolact.anchors import make_anchors
from protolabel.segmentation.yolact.model import YolactOutputs

HINTS = {"fp32": "f32", "bf16": "bf16"}

_core: Any = None
_core_lock = threading.Lock()


def shared_core(ov) -> Any:
    """The process's one OpenVINO Core, made on first use and kept: OpenVINO recommends one per application,
    and each Core loads its own CPU plugin, which gives the loading thread an alternate signal stack of its
    own and, when unloaded, puts back the one it found. Cores released in another order than they were made
    left that thread's signal stack in freed memory, and the next signal (Ctrl+C, SIGTERM) crashed the
    process instead of running its handler."""
    global _core
    with _core_lock:
        if _core is None:
            _core = ov.Core()
        return _core


def check_supported(config, device: torch.device) -> None:
    """OpenVINO runs on the CPU only, and its ONNX reader has no DeformConv (YOLACT++): refuse, never fall back."""
    if device.type != "cpu":
        raise BackendError(f"openvino runs on the CPU here, not {device}; use --device cpu or another --backend")
    if has_deformable_convs(config):
        raise BackendError(
            f"openvino cannot run {config.name}: its deformable convolutions (ONNX DeformConv) have "
            "no OpenVINO conversion; use --backend onnxruntime or torch"
        )


class OpenVinoRunner:
    """A compiled model; each call makes its own infer request, so one runner is safe to share between threads."""

    name = "openvino"

    def __init__(self, model: OnnxModel, device: torch.device, precision: str = "fp32") -> None:
        ov = import_extra("openvino")
        check_supported(model.info.config, device)
        if precision not in HINTS:
            raise BackendError(f"openvino runs fp32 or bf16, not {precision!r}")
        try:
            self.compiled = shared_core(ov).compile_model(
                str(model.path),
                "CPU",
                {
                    "INFERENCE_PRECISION_HINT": HINTS[precision],
                    "INFERENCE_NUM_THREADS": torch.get_num_threads(),  # the same thread budget as torch
                    "PERFORMANCE_HINT": "LATENCY",
                },
            )
        except Exception as exc:  # noqa: BLE001 the runtime raises RuntimeError with pages of detail: one line
            raise BackendError(f"{model.path}: openvino cannot load the model ({first_line(exc)})") from None
        # Without bf16 in the CPU, OpenVINO quietly computes in f32: say what actually runs.
        actual = str(self.compiled.get_property("INFERENCE_PRECISION_HINT"))  # e.g. "<Type: 'bfloat16'>"
        self.precision = "bf16" if "bfloat16" in actual or "bf16" in actual else "fp32"
        self.device = device
        self.anchors = make_anchors(model.info.config, list(model.level_sizes))

    def __call__(self, images: torch.Tensor) -> YolactOutputs:
        request = self.compiled.create_infer_request()
        request.infer({0: images.float().cpu().numpy()})
        loc, conf, coefficients, prototypes = (
            torch.from_numpy(request.get_output_tensor(i).data.copy()) for i in range(4)
        )
        return YolactOutputs(loc, conf, coefficients, prototypes, self.anchors, None)
