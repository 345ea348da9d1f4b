"""Mask assembly M = sigmoid(P . C^T), the box crop, and the resize to the original image (spec 8.3)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from protolabel.segmentation.yolact.box_coder import ordered_corners


def _as_tensor(x) -> torch.Tensor:
    return x if isinstance(x, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(x))


def crop_bounds(boxes_rel: torch.Tensor, height: int, width: int, padding: int = 1) -> torch.Tensor:
    """Float crop window (lo_x, lo_y, hi_x, hi_y) per box at prototype resolution, as the original's crop."""
    x1, y1, x2, y2 = (ordered_corners(boxes_rel) * boxes_rel.new_tensor([width, height, width, height])).unbind(1)
    return torch.stack(
        (
            (x1 - padding).clamp(min=0),
            (y1 - padding).clamp(min=0),
            (x2 + padding).clamp(max=width),
            (y2 + padding).clamp(max=height),
        ),
        dim=1,
    )


def crop_keep(
    boxes_rel: torch.Tensor, height: int, width: int, padding: int = 1, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
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


def _output_windows(
    boxes_rel: torch.Tensor, proto_size: tuple[int, int], image_size: tuple[int, int]
) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Per detection, the (x0, y0, x1, y1) output pixels whose bilinear taps can touch its kept
    (cropped) prototype window, int64 [D, 4] ((0, 0, 0, 0) where none), and the sampling of both axes."""
    h, w = proto_size
    height, width = image_size
    ylo, yhi, yw = _axis_sampling(h, height)
    xlo, xhi, xw = _axis_sampling(w, width)
    bounds = crop_bounds(boxes_rel.detach().float().cpu(), h, w).numpy()
    windows = np.zeros((len(bounds), 4), np.int64)
    for i, (lo_x, lo_y, hi_x, hi_y) in enumerate(bounds):
        c0, c1 = int(np.ceil(lo_x)), int(np.ceil(hi_x)) - 1  # kept prototype columns, inclusive
        r0, r1 = int(np.ceil(lo_y)), int(np.ceil(hi_y)) - 1
        if c1 < c0 or r1 < r0:
            continue
        x0, x1 = np.searchsorted(xhi, c0, "left"), np.searchsorted(xlo, c1, "right")
        y0, y1 = np.searchsorted(yhi, r0, "left"), np.searchsorted(ylo, r1, "right")
        if x1 > x0 and y1 > y0:
            windows[i] = (x0, y0, x1, y1)
    return windows, (ylo, yhi, yw, xlo, xhi, xw)


# Pixels of one full-size float map on the device at a time (CUDA branch): 2**28 floats = 1 GiB.
_DEVICE_CHUNK_PIXELS = 2**28


def binarize_at_image_size(
    masks: torch.Tensor, boxes_rel: torch.Tensor, image_size: tuple[int, int], threshold: float = 0.5
) -> tuple[list[np.ndarray], np.ndarray]:
    """Cropped soft masks [D, h, w] -> box-local binary masks: (crops, offsets).

    Each crop is bool [y1 - y0, x1 - x0], the pixels of (value > threshold after the original's
    bilinear resize to `image_size`) inside the window of output pixels that the detection's crop
    can reach; `offsets` is int64 [D, 2], the (x0, y0) of each window. Outside its window a mask
    is 0 before the threshold, so the crops hold every pixel (threshold >= 0); a detection whose
    window is empty gets a 0x0 crop at (0, 0). Never allocates a [D, H, W] array on the host.
    """
    if threshold < 0:
        raise ValueError(f"threshold must be >= 0 (pixels outside every box are 0), got {threshold}")
    d, h, w = masks.shape
    height, width = image_size
    windows, sampling = _output_windows(boxes_rel, (h, w), image_size)
    offsets = np.ascontiguousarray(windows[:, :2])
    if masks.is_cuda:
        return _binarize_on_device(masks, windows, image_size, threshold), offsets
    ylo, yhi, yw, xlo, xhi, xw = sampling
    soft = masks.float().numpy()
    crops = []
    for i in range(d):
        x0, y0, x1, y1 = windows[i]
        if x1 <= x0:
            crops.append(np.zeros((0, 0), bool))
            continue
        m = soft[i]
        wx, wy = xw[x0:x1], yw[y0:y1, None]
        top = m[ylo[y0:y1]]
        bottom = m[yhi[y0:y1]]
        top = top[:, xlo[x0:x1]] * (1 - wx) + top[:, xhi[x0:x1]] * wx
        bottom = bottom[:, xlo[x0:x1]] * (1 - wx) + bottom[:, xhi[x0:x1]] * wx
        crops.append((top * (1 - wy) + bottom * wy) > threshold)
    return crops, offsets


def _binarize_on_device(
    masks: torch.Tensor, windows: np.ndarray, image_size: tuple[int, int], threshold: float
) -> list[np.ndarray]:
    """The CUDA branch: torch's own resize and threshold on the device, a few detections at a time, then
    only the windows travel to the host (one transfer per chunk)."""
    height, width = image_size
    chunk = max(1, _DEVICE_CHUNK_PIXELS // max(1, height * width))
    crops: list[np.ndarray] = []
    for start in range(0, masks.shape[0], chunk):
        part = masks[start : start + chunk]
        full = F.interpolate(part[None], size=image_size, mode="bilinear", align_corners=False)[0] > threshold
        pieces = [
            full[j, y0:y1, x0:x1].reshape(-1) for j, (x0, y0, x1, y1) in enumerate(windows[start : start + len(part)])
        ]
        flat = torch.cat(pieces).cpu().numpy() if pieces else np.zeros(0, bool)
        split = np.split(flat, np.cumsum([p.numel() for p in pieces])[:-1]) if pieces else []
        for piece, (x0, y0, x1, y1) in zip(split, windows[start : start + len(part)]):
            crops.append(piece.reshape(y1 - y0, x1 - x0) if x1 > x0 else np.zeros((0, 0), bool))
        del full
    return crops
