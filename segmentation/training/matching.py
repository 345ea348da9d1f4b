"""Anchor matching: which anchors learn which ground-truth object (the original's `match`).

Every anchor is compared (IoU) with every ground-truth box, the anchor taken as a box
around its own centre. IoU >= 0.5 with its best object makes it a positive for that
object, < 0.4 a negative (background), anything in between is neutral (no loss). Then each
object is forced onto its best anchor, so no object goes untrained: greedily, the
(object, anchor) pair with the highest IoU first, each anchor and object used once.
Negatives that a crowd region covers by more than 70% of the anchor's own area become
neutral: a crowd of people is not background.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from protolabel.segmentation.yolact.box_coder import encode_boxes, pairwise_iou

NEUTRAL = -1  # label of anchors that take no part in the class loss


@dataclass(frozen=True)
class MatchThresholds:
    positive: float = 0.5
    negative: float = 0.4
    crowd: float = 0.7  # share of an anchor inside a crowd box that makes a negative neutral


@dataclass(frozen=True)
class AnchorTargets:
    """Per-anchor training targets of one image."""

    labels: torch.Tensor  # int64 [N]: 0 background, c + 1 for class c, NEUTRAL (-1) neither
    matched: torch.Tensor  # int64 [N] index of the ground-truth object each anchor is compared with
    loc: torch.Tensor  # float [N, 4] box regression targets (meaningful where labels > 0)

    @property
    def positive(self) -> torch.Tensor:
        return self.labels > 0


def anchor_corners(anchors: torch.Tensor) -> torch.Tensor:
    """(cx, cy, w, h) -> (x1, y1, x2, y2)."""
    return torch.cat((anchors[:, :2] - anchors[:, 2:] / 2, anchors[:, :2] + anchors[:, 2:] / 2), dim=1)


def match_anchors(
    boxes: torch.Tensor,
    labels: torch.Tensor,
    anchors: torch.Tensor,
    crowd_boxes: torch.Tensor | None = None,
    thresholds: MatchThresholds = MatchThresholds(),
) -> AnchorTargets:
    """Targets for anchors [N, 4] (cx, cy, w, h) from boxes [G, 4] relative corners and 0-based labels [G]."""
    n = anchors.shape[0]
    device = anchors.device
    if boxes.shape[0] == 0:
        return AnchorTargets(
            torch.zeros(n, dtype=torch.long, device=device),
            torch.zeros(n, dtype=torch.long, device=device),
            torch.zeros(n, 4, dtype=anchors.dtype, device=device),
        )
    corners = anchor_corners(anchors)
    overlaps = pairwise_iou(boxes, corners)  # [G, N]
    best_overlap, best_object = overlaps.max(dim=0)
    best_overlap, best_object = best_overlap.clone(), best_object.clone()
    remaining = overlaps.clone()
    for _ in range(boxes.shape[0]):
        flat = int(torch.argmax(remaining))
        obj, anchor = divmod(flat, n)
        remaining[:, anchor] = -1
        remaining[obj, :] = -1
        best_overlap[anchor] = 2.0  # above any threshold: always positive
        best_object[anchor] = obj
    target_labels = labels[best_object] + 1
    target_labels[best_overlap < thresholds.positive] = NEUTRAL
    target_labels[best_overlap < thresholds.negative] = 0
    if crowd_boxes is not None and crowd_boxes.shape[0] and thresholds.crowd < 1:
        covered = _inside_share(corners, crowd_boxes).max(dim=1).values
        target_labels[(target_labels <= 0) & (covered > thresholds.crowd)] = NEUTRAL
    matched_boxes = boxes[best_object]
    loc = encode_boxes(matched_boxes, anchors)
    loc = torch.where(target_labels[:, None] > 0, loc, torch.zeros_like(loc))  # no inf/nan where unused
    return AnchorTargets(target_labels, best_object, loc)


def _inside_share(anchors: torch.Tensor, regions: torch.Tensor) -> torch.Tensor:
    """[N, R] intersection area / anchor area (the original's IoU in 'crowd' mode)."""
    top_left = torch.maximum(anchors[:, None, :2], regions[None, :, :2])
    bottom_right = torch.minimum(anchors[:, None, 2:], regions[None, :, 2:])
    inter = (bottom_right - top_left).clamp(min=0).prod(dim=2)
    area = ((anchors[:, 2] - anchors[:, 0]) * (anchors[:, 3] - anchors[:, 1]))[:, None]
    return inter / area
