"""Each step of YOLACT's mask assembly for one detection, and per-image prototype statistics."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from protolabel.segmentation.detections import Detections
from protolabel.segmentation.geometry.box_masks import BoxMasks
from protolabel.segmentation.geometry.boxes import ordered_box
from protolabel.segmentation.yolact.masks import assemble_mask_stages, assemble_soft_masks, binarize_at_image_size


@dataclass(frozen=True)
class MaskStages:
    """One detection's mask at each stage, at prototype resolution except `final`."""

    linear: np.ndarray  # P . c, [h, w]
    sigmoid: np.ndarray  # sigmoid(P . c), [h, w]
    cropped: np.ndarray  # after the box crop (1 prototype pixel of padding), [h, w]
    final: np.ndarray  # bool [H, W], resized to the image and thresholded at 0.5


def mask_stages(
    prototypes: np.ndarray, coefficients: np.ndarray, box_rel: np.ndarray, image_size: tuple[int, int]
) -> MaskStages:
    """The assembly of one mask, from the prototypes [h, w, k], its k coefficients and its relative box."""
    box = torch.from_numpy(np.asarray(box_rel, dtype=np.float32))[None]
    stages = assemble_mask_stages(np.asarray(prototypes, dtype=np.float32), np.asarray(coefficients, np.float32), box)
    final = BoxMasks(image_size, *binarize_at_image_size(stages.cropped, box, image_size)).dense(0)
    return MaskStages(stages.linear[0].numpy(), stages.soft[0].numpy(), stages.cropped[0].numpy(), final)


def contributions(prototypes: np.ndarray, coefficients: np.ndarray) -> np.ndarray:
    """Per-prototype contribution c_j * P_j to the linear combination, [k, h, w]."""
    return np.moveaxis(prototypes * np.asarray(coefficients, dtype=np.float32)[None, None, :], 2, 0)


def contribution_strength(prototypes: np.ndarray, coefficients: np.ndarray, box_rel: np.ndarray) -> np.ndarray:
    """Mean |c_j * P_j| inside the detection's box at prototype resolution, per prototype [k]."""
    h, w, _ = prototypes.shape
    x1, y1, x2, y2 = ordered_box(box_rel)
    c0, c1 = int(np.clip(np.floor(x1 * w), 0, w - 1)), int(np.clip(np.ceil(x2 * w), 1, w))
    r0, r1 = int(np.clip(np.floor(y1 * h), 0, h - 1)), int(np.clip(np.ceil(y2 * h), 1, h))
    window = prototypes[r0 : max(r1, r0 + 1), c0 : max(c1, c0 + 1)]
    return np.abs(window * np.asarray(coefficients, dtype=np.float32)).mean(axis=(0, 1))


@dataclass(frozen=True)
class PrototypeSummary:
    """Which prototypes an image's objects rely on, and which are dead."""

    reliance: np.ndarray  # [k] mean contribution strength over the detections
    dead: np.ndarray  # bool [k]: the prototype is ~0 everywhere in this image
    ranking: np.ndarray  # prototype indices by descending reliance


def summarize_prototypes(det: Detections, dead_threshold: float = 1e-3) -> PrototypeSummary:
    k = det.prototypes.shape[2]
    if len(det):
        reliance = np.mean(
            [contribution_strength(det.prototypes, det.coefficients[i], det.boxes_rel[i]) for i in range(len(det))],
            axis=0,
        )
    else:
        reliance = np.zeros(k, dtype=np.float32)
    dead = det.prototypes.max(axis=(0, 1)) < dead_threshold
    return PrototypeSummary(reliance, dead, np.argsort(-reliance, kind="stable"))


def pixel_boxes_for_crop(det: Detections) -> np.ndarray:
    """float64 [D, 4] pixel boxes, unclamped and unrounded, that divide back exactly to the crop boxes."""
    h, w = det.image_size
    return det.boxes_rel.astype(np.float64) * np.array([w, h, w, h], dtype=np.float64)


def masks_from_parts(
    prototypes: np.ndarray, coefficients: np.ndarray, pixel_boxes: np.ndarray, image_size: tuple[int, int]
) -> BoxMasks:
    """Rebuild the box-local binary masks from prototypes, coefficients and pixel boxes (the spec's rule)."""
    h, w = image_size
    boxes_rel = torch.from_numpy((np.asarray(pixel_boxes, np.float64) / [w, h, w, h]).astype(np.float32))
    soft = assemble_soft_masks(
        np.asarray(prototypes, dtype=np.float32), np.asarray(coefficients, np.float32), boxes_rel
    )
    return BoxMasks(image_size, *binarize_at_image_size(soft, boxes_rel, image_size))
