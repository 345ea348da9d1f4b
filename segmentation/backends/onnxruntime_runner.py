"""The ONNX Runtime backend: an exported .onnx in an InferenceSession (CPU; CUDA when onnxruntime-gpu has it)."""

from __future__ import annotations

import torch

from protolabel.segmentation.backends.base import BackendError, import_extra
from protolabel.segmentation.backends.onnx_export import INPUT_NAME, OUTPUT_NAMES, OnnxModel
from protolabel.segmentation.yolact.anchors import make_anchors
from protolabel.segmentation.yolact.model import YolactOutputs


class OnnxRuntimeRunner:
    """fp32 only (ONNX Runtime's CPU kernels have no bf16 convolutions). One session, safe to share between threads."""

    name = "onnxruntime"

    def __init__(self, model: OnnxModel, device: torch.device, precision: str = "fp32") -> None:
        ort = import_extra("onnxruntime")
        if precision != "fp32":
            raise BackendError(f"onnxruntime runs fp32 only, not {precision}; use --backend openvino or torch for bf16")
        providers = ["CPUExecutionProvider"]
        if device.type == "cuda":
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise BackendError("this onnxruntime has no CUDA support (install onnxruntime-gpu) ; use --device cpu")
            providers.insert(0, ("CUDAExecutionProvider", {"device_id": device.index or 0}))
        options = ort.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()  # the same thread budget as torch
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(model.path), options, providers=providers)
        self.device, self.precision = device, precision
        self.anchors = make_anchors(model.info.config, list(model.level_sizes)).to(device)

    def __call__(self, images: torch.Tensor) -> YolactOutputs:
        outputs = self.session.run(list(OUTPUT_NAMES), {INPUT_NAME: images.float().cpu().numpy()})
        loc, conf, coefficients, prototypes = (torch.from_numpy(o).to(self.device) for o in outputs)
        return YolactOutputs(loc, conf, coefficients, prototypes, self.anchors, None)
