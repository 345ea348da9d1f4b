"""Candidate selection and the three NMS variants of the original's `Detect` (spec section 8.2)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from protolabel.segmentation.yolact.box_coder import pairwise_iou

NmsMethod = Literal["fast", "traditional", "cross_class"]


@dataclass(frozen=True)
class NmsSettings:
    method: NmsMethod = "fast"
    conf_threshold: float = 0.05
    iou_threshold: float = 0.5
    top_k: int = 200  # per class, before NMS
    max_detections: int = 100


@dataclass
class RawDetections:
    """NMS output in relative coordinates, sorted by descending score."""

    boxes: torch.Tensor  # [D, 4]
    coefficients: torch.Tensor  # [D, k]
    classes: torch.Tensor  # [D] 0-based foreground class
    scores: torch.Tensor  # [D]

    @staticmethod
    def empty(k: int, device: torch.device) -> RawDetections:
        return RawDetections(
            torch.zeros(0, 4, device=device),
            torch.zeros(0, k, device=device),
            torch.zeros(0, dtype=torch.long, device=device),
            torch.zeros(0, device=device),
        )


def detect(
    boxes: torch.Tensor, probs: torch.Tensor, coefficients: torch.Tensor, settings: NmsSettings, max_size: int
) -> RawDetections:
    """One image: decoded boxes [N, 4], softmax probabilities [N, C], coefficients [N, k].

    `max_size` is the network input side; traditional NMS works on boxes scaled to it.
    """
    if probs.shape[1] < 2 or probs.shape[0] == 0:  # no object class (only background) or no anchors
        return RawDetections.empty(coefficients.shape[1], boxes.device)
    scores = probs[:, 1:].t()  # [C-1, N], background dropped
    best, _ = scores.max(dim=0)
    keep = best > settings.conf_threshold  # strict, on the anchor's best foreground class
    if not bool(keep.any()):
        return RawDetections.empty(coefficients.shape[1], boxes.device)
    scores, boxes, coefficients = scores[:, keep], boxes[keep], coefficients[keep]
    if settings.method == "fast":
        return _fast_nms(boxes, coefficients, scores, settings)
    if settings.method == "cross_class":
        return _cross_class_nms(boxes, coefficients, scores, settings)
    if settings.method == "traditional":
        return _traditional_nms(boxes, coefficients, scores, settings, max_size)
    raise ValueError(f"unknown NMS method {settings.method!r}")


def _fast_nms(boxes, coefficients, scores, s: NmsSettings) -> RawDetections:
    """Per-class NMS in one matrix step: suppressed boxes still suppress (differs from greedy NMS)."""
    scores, order = scores.sort(dim=1, descending=True)
    order, scores = order[:, : s.top_k], scores[:, : s.top_k]
    num_classes, k = order.shape
    cls_boxes = boxes[order.reshape(-1)].reshape(num_classes, k, 4)
    cls_coeffs = coefficients[order.reshape(-1)].reshape(num_classes, k, -1)
    iou = pairwise_iou(cls_boxes, cls_boxes).triu_(diagonal=1)
    keep = iou.max(dim=1).values <= s.iou_threshold
    classes = torch.arange(num_classes, device=boxes.device)[:, None].expand_as(keep)[keep]
    scores, top = scores[keep].sort(dim=0, descending=True)
    top, scores = top[: s.max_detections], scores[: s.max_detections]
    return RawDetections(cls_boxes[keep][top], cls_coeffs[keep][top], classes[top], scores)


def _cross_class_nms(boxes, coefficients, scores, s: NmsSettings) -> RawDetections:
    """One Fast NMS over all classes using each anchor's best class; no max-detections cap."""
    scores, classes = scores.max(dim=0)
    _, order = scores.sort(dim=0, descending=True)
    order = order[: s.top_k]
    iou = pairwise_iou(boxes[order], boxes[order]).triu_(diagonal=1)
    kept = order[iou.max(dim=0).values <= s.iou_threshold]
    return RawDetections(boxes[kept], coefficients[kept], classes[kept], scores[kept])


def greedy_nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Classic greedy NMS with the '+1' pixel area convention of the original's Cython kernel."""
    x1, y1, x2, y2 = boxes.T
    areas = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = scores.argsort()[::-1]
    kept = []
    while order.size:
        i = order[0]
        kept.append(i)
        rest = order[1:]
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + 1)
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]) + 1)
        inter = w * h
        iou = inter / (areas[i] + areas[rest] - inter)
        order = rest[iou < iou_threshold]  # suppressed when IoU >= threshold
    return np.asarray(kept, dtype=np.int64)


def _traditional_nms(boxes, coefficients, scores, s: NmsSettings, max_size: int) -> RawDetections:
    """Greedy per-class NMS on pixel-scaled boxes, only over scores above the threshold."""
    all_boxes, all_coeffs, all_classes, all_scores = [], [], [], []
    for c in range(scores.shape[0]):
        mask = scores[c] > s.conf_threshold
        if not bool(mask.any()):
            continue
        cls_scores, cls_boxes = scores[c][mask], boxes[mask]
        kept = greedy_nms(
            (cls_boxes * max_size).double().cpu().numpy(), cls_scores.double().cpu().numpy(), s.iou_threshold
        )
        kept_t = torch.from_numpy(kept).to(boxes.device)
        all_boxes.append(cls_boxes[kept_t])
        all_coeffs.append(coefficients[mask][kept_t])
        all_scores.append(cls_scores[kept_t])
        all_classes.append(torch.full((len(kept),), c, dtype=torch.long, device=boxes.device))
    if not all_scores:
        return RawDetections.empty(coefficients.shape[1], boxes.device)
    scores_cat, order = torch.cat(all_scores).sort(dim=0, descending=True)
    order = order[: s.max_detections]
    return RawDetections(
        torch.cat(all_boxes)[order],
        torch.cat(all_coeffs)[order],
        torch.cat(all_classes)[order],
        scores_cat[: s.max_detections],
    )
