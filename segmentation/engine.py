"""The YOLACT inference engine: checkpoint in, typed per-image `Detections` out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from protolabel.segmentation.detections import Detections
from protolabel.segmentation.geometry.box_masks import BoxMasks
from protolabel.segmentation.yolact.box_coder import decode_boxes
from protolabel.segmentation.yolact.checkpoint import ModelInfo
from protolabel.segmentation.yolact.masks import assemble_soft_masks, binarize_at_image_size
from protolabel.segmentation.yolact.model import Yolact, YolactOutputs
from protolabel.segmentation.yolact.nms import NmsSettings, RawDetections, detect
from protolabel.segmentation.yolact.transform import YolactTransform, boxes_to_pixels


@dataclass(frozen=True)
class InferenceSettings:
    """Defaults are the original's evaluation settings."""

    score_threshold: float = 0.0  # keep detections with score > threshold (0 keeps all)
    top_k: int = 100  # at most this many detections per image, best first
    nms: NmsSettings = field(default_factory=NmsSettings)

    def __post_init__(self) -> None:
        # A negative top_k would slice off the last detection and NaN would compare false: refuse both.
        if not 0 <= self.score_threshold <= 1:
            raise ValueError(f"score threshold must be a number in [0, 1], got {self.score_threshold}")
        if isinstance(self.top_k, bool) or not isinstance(self.top_k, int) or self.top_k < 1:
            raise ValueError(f"top_k must be an integer >= 1, got {self.top_k!r}")


SUPPORTED_DEVICES = "cpu, cuda, cuda:N or auto"


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """'auto' picks CUDA when present; an unknown or unavailable device is a ValueError saying which
    devices exist (the one check behind every command's and the app's --device)."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(f"unknown device {str(device)!r}; use {SUPPORTED_DEVICES}") from None
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"device {str(device)!r} is not supported; use {SUPPORTED_DEVICES}")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("CUDA was requested but no CUDA device is available; use --device cpu or auto")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(
                f"there is no CUDA device {device.index} (this machine has "
                f"{torch.cuda.device_count()}: cuda:0 to cuda:{torch.cuda.device_count() - 1})"
            )
    return device


class YolactEngine:
    """Loads a checkpoint once and runs batches of BGR images through YOLACT.

    Safe to share between threads: `predict` reads nothing that another call may change. Each call
    takes its own `InferenceSettings`; `settings` (fixed at construction) is only the default.
    """

    def __init__(
        self,
        weights: str | Path,
        config: str | None = None,
        device: str | torch.device = "auto",
        settings: InferenceSettings | None = None,
        backend: str | None = None,
        precision: str | None = None,
        onnx_cache_dir: str | Path | None = None,
        on_export: Callable[[str], None] | None = None,
    ) -> None:
        """`weights`: a .pth checkpoint or an .onnx from `protolabel export-onnx`.

        `backend`: torch (default for a .pth), onnxruntime, openvino, or auto (default for an .onnx): the
        first of `segmentation.backends.AUTO_ORDER` (openvino fp32, onnxruntime fp32, torch fp32 on the CPU;
        torch fp32 on CUDA) that is installed and runs this config on this device. The rule and the figures
        behind it (benchmarks/inference.py) are in
        AUTO_ORDER's comment: the fastest variants that keep >= 99% of torch fp32's detections at mask IoU
        >= 0.98 on the reference fixtures; bf16 is faster but misses that, so only `precision="bf16"` runs it.
        `precision`: fp32 or bf16 (default fp32).
        A .pth on an ONNX backend is exported on the fly, cached in `onnx_cache_dir` when given.
        """
        from protolabel.segmentation.backends import load_network

        self.device = resolve_device(device)
        loaded = load_network(weights, config, self.device, backend, precision, onnx_cache_dir, on_export)
        self.network = loaded.runner
        self.info = loaded.info
        # The torch model (torch backend only), folded for speed: the engine owns it, it is never saved or trained.
        self.model: Yolact | None = loaded.model
        self.maskiou_net = loaded.maskiou_net
        self.settings = settings or InferenceSettings()
        self.transform = YolactTransform(
            self.info.config.max_size, imagenet_normalize=self.info.config.backbone != "darknet53"
        )

    @classmethod
    def from_model(cls, model: Yolact, info: ModelInfo, device="cpu", settings=None) -> YolactEngine:
        """Wrap an already built model as it is (training evaluates its own weights this way, unfolded)."""
        from protolabel.segmentation.backends.torch_runner import TorchRunner

        engine = cls.__new__(cls)
        engine.device = resolve_device(device)
        engine.model, engine.info = model.to(engine.device).eval(), info
        engine.network = TorchRunner(engine.model, engine.device)
        engine.maskiou_net = engine.model.maskiou_net if info.config.use_maskiou else None
        engine.settings = settings or InferenceSettings()
        engine.transform = YolactTransform(info.config.max_size, info.config.backbone != "darknet53")
        return engine

    @property
    def backend(self) -> str:
        """The backend and precision that run the network, e.g. 'openvino bf16'."""
        return f"{self.network.name} {self.network.precision}"

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.info.class_names

    def predict(self, images: Sequence[np.ndarray], settings: InferenceSettings | None = None) -> list[Detections]:
        """Detections for each BGR uint8 image, in one forward pass, with `settings` (default: the engine's)."""
        if not images:
            return []
        with torch.inference_mode():
            out = self.network(self.transform(list(images), self.device))
            return self.postprocess(out, [image.shape[:2] for image in images], settings)

    def postprocess(
        self, out: YolactOutputs, image_sizes: Sequence[tuple[int, int]], settings: InferenceSettings | None = None
    ) -> list[Detections]:
        """Detections from the network's outputs for images of these (height, width) sizes: softmax, NMS,
        masks at the original size. The one post-processing of every path (images and video frames)."""
        settings = settings or self.settings
        probs = torch.softmax(out.conf, dim=-1)
        results = []
        for b, size in enumerate(image_sizes):
            boxes = decode_boxes(out.loc[b], out.anchors)
            raw = detect(boxes, probs[b], out.coefficients[b], settings.nms, self.info.config.max_size)
            results.append(self._finish(raw, out.prototypes[b], size, settings))
        return results

    def predict_image(self, image: np.ndarray, settings: InferenceSettings | None = None) -> Detections:
        return self.predict([image], settings)[0]

    def _finish(
        self, raw: RawDetections, prototypes: torch.Tensor, image_size: tuple[int, int], settings: InferenceSettings
    ) -> Detections:
        """Re-score (YOLACT++), filter, assemble masks at the original size."""
        soft = assemble_soft_masks(prototypes, raw.coefficients, raw.boxes)
        scores = raw.scores
        if self.info.config.use_maskiou and len(scores):
            maskiou = self.maskiou_net(soft[:, None])
            scores = scores * maskiou.gather(1, raw.classes[:, None])[:, 0]
        order = torch.argsort(scores, descending=True, stable=True)
        if settings.score_threshold > 0:
            order = order[scores[order] > settings.score_threshold]
        order = order[: settings.top_k]
        boxes_rel = raw.boxes[order]
        size = (int(image_size[0]), int(image_size[1]))
        masks = BoxMasks(size, *binarize_at_image_size(soft[order], boxes_rel, size))
        return Detections(
            image_size=size,
            classes=raw.classes[order].cpu().numpy().astype(np.int64),
            scores=scores[order].float().cpu().numpy(),
            boxes=boxes_to_pixels(boxes_rel, image_size).float().cpu().numpy(),
            boxes_rel=boxes_rel.float().cpu().numpy(),
            masks=masks,
            coefficients=raw.coefficients[order].float().cpu().numpy(),
            prototypes=prototypes.float().cpu().numpy(),
            class_names=self.info.class_names,
            category_ids=self.info.category_ids,
        )
