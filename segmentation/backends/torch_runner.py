"""The torch backend: the model itself, in fp32 or under bf16 autocast (CPU with AVX-512 BF16/AMX, or CUDA)."""

from __future__ import annotations

import torch

from protolabel.segmentation.backends.base import BackendError
from protolabel.segmentation.yolact.model import Yolact, YolactOutputs


class TorchRunner:
    """Runs the (BatchNorm-folded) torch model; bf16 runs under autocast and returns float32 outputs."""

    name = "torch"

    def __init__(self, model: Yolact, device: torch.device, precision: str = "fp32") -> None:
        if precision not in ("fp32", "bf16"):
            raise BackendError(f"torch runs fp32 or bf16, not {precision!r}")
        self.model, self.device, self.precision = model, device, precision

    def __call__(self, images: torch.Tensor) -> YolactOutputs:
        if self.device.type == "cpu":
            images = images.contiguous(memory_format=torch.channels_last)
        if self.precision == "fp32":
            return self.model(images)
        with torch.autocast(self.device.type, dtype=torch.bfloat16):
            out = self.model(images)
        return YolactOutputs(*(t.float() if t is not None else None for t in out))
