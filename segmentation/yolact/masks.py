"""Mask assembly M = sigmoid(P . C^T), the box crop, and the resize to the original image (spec 8.3)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from segmentation.yolact.box_coder import ordered_corners


def _as_tensor(x) -> torch.Tensor:
    return x if isinstance(x, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(x))


def crop_bounds(boxes_rel: torch.Tensor, height: int, width: int, padding: int = 1) -> torch.Tensor:
    """Float crop window (lo_x, lo_y, hi_x, hi_y) per box at prototype resolution, as the original's crop."""
    x1, y1, x2, y2 = (ordered_corners(boxes_rel) * boxes_rel.new_tensor([width, height, width, height])).unbind(1)
    return torch.stack(
        ((x1 - padding).clamp(min=0), (y1 - padding).clamp(min=0),
         (x2 + padding).clamp(max=width), (y2 + padding).clamp(max=height)),
        dim=1,
    )


def crop_keep(boxes_rel: torch.Tensor, height: int, width: int, padding: int = 1,
              dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """1 inside each (padded) box, 0 outside, on the prototype grid: [D, height, width]."""
    bounds = crop_bounds(boxes_rel, height, width, padding)
    cols = torch.arange(width, device=boxes_rel.device, dtype=dtype)
    rows = torch.arange(height, device=boxes_rel.device, dtype=dtype)
    keep_x = (cols[None, :] >= bounds[:, 0:1]) & (cols[None, :] < bounds[:, 2:3])
    keep_y = (rows[None, :] >= bounds[:, 1:2]) & (rows[None, :] < bounds[:, 3:4])
    return (keep_y[:, :, None] & keep_x[:, None, :]).to(dtype)


def crop_masks(masks: torch.Tensor, boxes_rel: torch.Tensor, padding: int = 1) -> torch.Tensor:
    """Zero every prototype pixel outside its (padded) box: masks [D, h, w] -> [D, h, w]."""
    _, h, w = masks.shape
    return masks * crop_keep(boxes_rel, h, w, padding, masks.dtype)


@dataclass(frozen=True)
class MaskAssembly:
    """The stages of the mask assembly, each [D, ...] (detections first, then the prototype grid)."""

    linear: torch.Tensor  # P . c
    soft: torch.Tensor  # sigmoid(P . c)
    cropped: torch.Tensor  # soft, zero outside each (padded) box


def assemble_mask_stages(prototypes, coefficients, boxes_rel=None, keep=None) -> MaskAssembly:
    """The one mask assembly rule: sigmoid(P . c^T), then the box crop.

    `prototypes` [..., k] (the grid [h, w, k], or any window of it, flattened or not); `coefficients`
    [D, k], or [k] for one detection. The crop is by `boxes_rel` [D, 4] (relative corners, as the
    original), or by `keep`, a 0/1 mask over the grid (callers that assemble one window many times
    compute it once with `crop_keep`); with neither, `cropped` is `soft`.
    """
    protos = _as_tensor(prototypes)
    coeffs = _as_tensor(coefficients).to(protos.dtype)
    if coeffs.dim() == 1:
        linear = (protos @ coeffs)[None]
    else:
        linear = torch.movedim(protos @ coeffs.t(), -1, 0)
    soft = torch.sigmoid(linear)
    if boxes_rel is not None:
        cropped = crop_masks(soft, _as_tensor(boxes_rel).to(protos.dtype))
    elif keep is not None:
        cropped = soft * _as_tensor(keep).to(protos.dtype)
    else:
        cropped = soft
    return MaskAssembly(linear, soft, cropped)


def assemble_soft_masks(prototypes, coefficients, boxes_rel=None) -> torch.Tensor:
    """Prototypes [h, w, k] x coefficients [D, k] -> sigmoid masks [D, h, w], cropped when boxes are given."""
    return assemble_mask_stages(prototypes, coefficients, boxes_rel).cropped.contiguous()


def upsample_to_image(masks: torch.Tensor, image_size: tuple[int, int]) -> np.ndarray:
    """Soft masks [D, h, w] -> float32 [D, H, W] with the original's bilinear resize."""
    if masks.shape[0] == 0:
        return np.zeros((0, *image_size), dtype=np.float32)
    out = F.interpolate(masks[None].float(), size=image_size, mode="bilinear", align_corners=False)[0]
    return out.cpu().numpy()


def _axis_sampling(in_size: int, out_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per output index: left source index, right source index, weight of the right one (torch's rule)."""
    scale = np.float32(in_size / out_size)
    src = (np.arange(out_size, dtype=np.float32) + np.float32(0.5)) * scale - np.float32(0.5)
    src = np.maximum(src, np.float32(0.0))
    left = src.astype(np.int64)
    right = np.minimum(left + 1, in_size - 1)
    return left, right, (src - left.astype(np.float32)).astype(np.float32)


def binarize_at_image_size(
    masks: torch.Tensor, boxes_rel: torch.Tensor, image_size: tuple[int, int], threshold: float = 0.5
) -> np.ndarray:
    """Cropped soft masks [D, h, w] -> bool [D, H, W] (value > threshold after the bilinear resize).

    Equal to resizing the whole stack and thresholding, but only the part of the image that
    the crop window can reach is computed: most of a large photo is outside every box.
    """
    d, h, w = masks.shape
    height, width = image_size
    out = np.zeros((d, height, width), dtype=bool)
    if d == 0:
        return out
    if masks.is_cuda:
        full = F.interpolate(masks[None], size=image_size, mode="bilinear", align_corners=False)[0]
        return (full > threshold).cpu().numpy()
    soft = masks.float().numpy()
    ylo, yhi, yw = _axis_sampling(h, height)
    xlo, xhi, xw = _axis_sampling(w, width)
    bounds = crop_bounds(boxes_rel.float(), h, w).numpy()
    for i in range(d):
        lo_x, lo_y, hi_x, hi_y = bounds[i]
        c0, c1 = int(np.ceil(lo_x)), int(np.ceil(hi_x)) - 1  # kept prototype columns, inclusive
        r0, r1 = int(np.ceil(lo_y)), int(np.ceil(hi_y)) - 1
        if c1 < c0 or r1 < r0:
            continue
        # Output pixels whose two source taps can touch the kept window.
        x0, x1 = np.searchsorted(xhi, c0, "left"), np.searchsorted(xlo, c1, "right")
        y0, y1 = np.searchsorted(yhi, r0, "left"), np.searchsorted(ylo, r1, "right")
        if x1 <= x0 or y1 <= y0:
            continue
        m = soft[i]
        wx, wy = xw[x0:x1], yw[y0:y1, None]
        top = m[ylo[y0:y1]]
        bottom = m[yhi[y0:y1]]
        top = top[:, xlo[x0:x1]] * (1 - wx) + top[:, xhi[x0:x1]] * wx
        bottom = bottom[:, xlo[x0:x1]] * (1 - wx) + bottom[:, xhi[x0:x1]] * wx
        out[i, y0:y1, x0:x1] = (top * (1 - wy) + bottom * wy) > threshold
    return out
