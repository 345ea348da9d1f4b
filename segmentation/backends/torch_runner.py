"""The torch backend: the model itself, in fp32 or under bf16 autocast (CPU with AVX-512 BF16/AMX, or CUDA)."""

from __future__ import annotations

import torch

from protolabel.segmentation.backends.base import BackendError
from protolabel.segmentation.yolact.model import KeyframeState, Yolact, YolactOutputs


class TorchRunner:
    """Runs the (BatchNorm-folded) torch model; bf16 runs under autocast and returns float32 outputs."""

    name = "torch"

    def __init__(self, model: Yolact, device: torch.device, precision: str = "fp32") -> None:
        if precision not in ("fp32", "bf16"):
            raise BackendError(f"torch runs fp32 or bf16, not {precision!r}")
        self.model, self.device, self.precision = model, device, precision

    def __call__(self, images: torch.Tensor) -> YolactOutputs:
        return self.keyframe(images)[0]

    def keyframe(self, images: torch.Tensor) -> tuple[YolactOutputs, KeyframeState | None]:
        """The full network, and the state a YolactEdge video model's next frames warp from."""
        return self._run(self.model.forward_keyframe, images)

    def partial(
        self, images: torch.Tensor, keyframe: KeyframeState, trace: dict[str, torch.Tensor] | None = None
    ) -> YolactOutputs:
        """A YolactEdge non-keyframe: backbone to C3, the keyframe's P4/P5 warped (model.forward_partial)."""
        return self._run(self.model.forward_partial, images, keyframe, trace)

    def _run(self, method, images: torch.Tensor, *args):
        if self.device.type == "cpu":
            images = images.contiguous(memory_format=torch.channels_last)
        if self.precision == "fp32":
            return method(images, *args)
        with torch.autocast(self.device.type, dtype=torch.bfloat16):
            result = method(images, *args)
        return _as_float32(result)


def _as_float32(value):
    """Float tensors (in tuples, as the model returns them) back to float32 after a bf16 autocast run."""
    if isinstance(value, torch.Tensor):
        return value.float()
    if isinstance(value, tuple):
        items = [_as_float32(v) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    return value
