"""Box decoding and pairwise IoU, with the original's float order (spec section 8.1)."""

from __future__ import annotations

import torch

VARIANCES = (0.1, 0.2)


def ordered_corners(boxes: torch.Tensor) -> torch.Tensor:
    """Boxes [N, 4] given by two opposite corners in any order -> (x_min, y_min, x_max, y_max) [N, 4]
    (the model may predict x2 < x1; every use of a box orders its corners first)."""
    return torch.stack((torch.minimum(boxes[:, 0], boxes[:, 2]), torch.minimum(boxes[:, 1], boxes[:, 3]),
                        torch.maximum(boxes[:, 0], boxes[:, 2]), torch.maximum(boxes[:, 1], boxes[:, 3])), dim=1)


def decode_boxes(loc: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
    """Regressions [N, 4] + anchors (cx, cy, w, h) [N, 4] -> relative corners (x1, y1, x2, y2)."""
    centers = anchors[:, :2] + loc[:, :2] * VARIANCES[0] * anchors[:, 2:]
    sizes = anchors[:, 2:] * torch.exp(loc[:, 2:] * VARIANCES[1])
    top_left = centers - sizes / 2
    # x2 = x1 + w (not cx + w/2): equal in exact arithmetic, not in the last float bit.
    return torch.cat((top_left, top_left + sizes), dim=-1)


def encode_boxes(boxes: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
    """Inverse of `decode_boxes`: relative corners -> regression targets (used by training)."""
    centers = (boxes[:, :2] + boxes[:, 2:]) / 2
    sizes = boxes[:, 2:] - boxes[:, :2]
    d_center = (centers - anchors[:, :2]) / (VARIANCES[0] * anchors[:, 2:])
    d_size = torch.log(sizes / anchors[:, 2:]) / VARIANCES[1]
    return torch.cat((d_center, d_size), dim=-1)


def pairwise_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU of corner boxes [..., n, 4] x [..., m, 4] -> [..., n, m]; plain area formula, no '+1'."""
    top_left = torch.maximum(a[..., :, None, :2], b[..., None, :, :2])
    bottom_right = torch.minimum(a[..., :, None, 2:], b[..., None, :, 2:])
    wh = (bottom_right - top_left).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    area_a = ((a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1]))[..., :, None]
    area_b = ((b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1]))[..., None, :]
    return inter / (area_a + area_b - inter)
