"""The YOLACT / YOLACT++ training loss, term by term as the original's MultiBoxLoss.

Terms (weights from the original configs):
- box: smooth L1 between the positives' regressions and the encoded matched boxes (x 1.5);
- conf: softmax cross-entropy over positives plus the hardest negatives, 3 per positive,
  ranked by their background loss (online hard example mining, x 1);
- mask: each positive's mask, sigmoid(prototypes . coefficients), cropped by its
  ground-truth box, against the ground truth downsampled to prototype size (bilinear,
  > 0.5); binary cross-entropy averaged over the box area ("emulate RoI pooling"), at most
  100 masks per image (scaled up when sampled), x 6.125. The BCE is taken from the logits:
  the same value, but a saturated mask still learns (see `mask_loss`);
- semantic: per-class BCE-with-logits of the training-only 1x1 conv on P3 against the
  union of each class's masks at P3 size, averaged over pixels (x 1);
- maskiou (YOLACT++): the mask re-scoring net, fed the cropped soft masks, regresses the
  IoU of the binarised mask with the ground truth (smooth L1, x 25); masks whose ground
  truth has no more than 25 pixels at prototype size are left out.
box, conf, mask and maskiou are divided by the number of positives in the batch,
semantic by the batch size. Losses are computed in float32 (also under AMP).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from protolabel.segmentation.training.matching import NEUTRAL, AnchorTargets, MatchThresholds, match_anchors
from protolabel.segmentation.yolact.masks import crop_masks
from protolabel.segmentation.yolact.model import YolactOutputs


@dataclass(frozen=True)
class LossWeights:
    box: float = 1.5
    conf: float = 1.0
    mask: float = 6.125
    semantic: float = 1.0
    maskiou: float = 25.0


@dataclass(frozen=True)
class LossSettings:
    thresholds: MatchThresholds = field(default_factory=MatchThresholds)
    weights: LossWeights = field(default_factory=LossWeights)
    negatives_per_positive: int = 3
    masks_to_train: int = 100
    discard_mask_area: int = 25  # YOLACT++: ground-truth pixels at prototype size a mask needs for the IoU loss


@dataclass(frozen=True)
class ImageTargets:
    """Ground truth of one augmented image (relative coordinates, as the network sees it)."""

    boxes: torch.Tensor  # float [G, 4] relative corners
    labels: torch.Tensor  # int64 [G] 0-based class
    masks: torch.Tensor  # uint8/float [G, S, S]
    crowd_boxes: torch.Tensor  # float [C, 4] relative corners

    def to(self, device: torch.device) -> ImageTargets:
        return ImageTargets(
            *(t.to(device, non_blocking=True) for t in (self.boxes, self.labels, self.masks, self.crowd_boxes))
        )


LOSS_NAMES = ("box", "conf", "mask", "semantic", "maskiou")
OUTSIDE_CROP_PENALTY = 100.0  # BCE of a zero prediction where the truth is 1 (torch clamps log at -100)


class YolactLoss:
    """Callable: (model outputs, per-image targets) -> {term name: scalar tensor}."""

    def __init__(self, settings: LossSettings = LossSettings(), maskiou_net: nn.Module | None = None) -> None:
        self.settings = settings
        self.maskiou_net = maskiou_net

    def __call__(
        self, outputs: YolactOutputs, targets: list[ImageTargets], generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        loc = outputs.loc.float()
        conf = outputs.conf.float()
        coefficients = outputs.coefficients.float()
        prototypes = outputs.prototypes.float()
        anchors = outputs.anchors.float()
        matches = [
            match_anchors(t.boxes.float(), t.labels, anchors, t.crowd_boxes.float(), self.settings.thresholds)
            for t in targets
        ]
        labels = torch.stack([m.labels for m in matches])
        positive = labels > 0
        num_positive = positive.sum().clamp(min=1).float()
        weights = self.settings.weights

        losses = {
            "box": box_loss(loc, torch.stack([m.loc for m in matches]), positive) * weights.box,
            "conf": confidence_loss(conf, labels, self.settings.negatives_per_positive) * weights.conf,
        }
        mask_sum, maskiou_inputs = mask_loss(
            prototypes,
            coefficients,
            matches,
            targets,
            self.settings,
            generator,
            collect_maskiou=self.maskiou_net is not None,
        )
        losses["mask"] = mask_sum * weights.mask
        if outputs.segmentation is not None:
            losses["semantic"] = semantic_segmentation_loss(outputs.segmentation.float(), targets) * weights.semantic
        if self.maskiou_net is not None:
            losses["maskiou"] = maskiou_loss(self.maskiou_net, maskiou_inputs, prototypes) * weights.maskiou
        batch = float(len(targets))
        return {name: value / (batch if name == "semantic" else num_positive) for name, value in losses.items()}


def box_loss(loc: torch.Tensor, loc_targets: torch.Tensor, positive: torch.Tensor) -> torch.Tensor:
    """Sum of smooth L1 (beta 1) over the positives' 4 regression values."""
    return F.smooth_l1_loss(loc[positive], loc_targets[positive], reduction="sum")


def hard_negatives(conf: torch.Tensor, labels: torch.Tensor, ratio: int) -> torch.Tensor:
    """bool [B, N]: per image, the `ratio` x positives negatives with the highest background loss."""
    with torch.no_grad():
        background_loss = torch.logsumexp(conf, dim=-1) - conf[..., 0]  # -log softmax(background)
        background_loss = background_loss.masked_fill((labels > 0) | (labels == NEUTRAL), 0.0)
        rank = background_loss.argsort(dim=1, descending=True).argsort(dim=1)
        num_negative = ((labels > 0).sum(dim=1, keepdim=True) * ratio).clamp(max=labels.shape[1] - 1)
        return (rank < num_negative) & (labels == 0)


def confidence_loss(conf: torch.Tensor, labels: torch.Tensor, ratio: int = 3) -> torch.Tensor:
    """Summed softmax cross-entropy over the positives and their mined hard negatives."""
    selected = (labels > 0) | hard_negatives(conf, labels, ratio)
    return F.cross_entropy(conf[selected], labels[selected], reduction="sum")


@dataclass(frozen=True)
class _MaskIoUInputs:
    soft_masks: torch.Tensor  # [M, h, w] cropped sigmoid masks
    iou: torch.Tensor  # [M] IoU of the binarised masks with the ground truth
    classes: torch.Tensor  # [M] 0-based class


def mask_loss(
    prototypes: torch.Tensor,
    coefficients: torch.Tensor,
    matches: list[AnchorTargets],
    targets: list[ImageTargets],
    settings: LossSettings,
    generator: torch.Generator | None = None,
    collect_maskiou: bool = False,
) -> tuple[torch.Tensor, _MaskIoUInputs | None]:
    """Summed, area-normalised mask BCE over the batch; also what the mask-IoU loss needs."""
    _, h, w, _ = prototypes.shape
    total = prototypes.new_zeros(())
    iou_parts: list[_MaskIoUInputs] = []
    for b, (match, target) in enumerate(zip(matches, targets)):
        positive = torch.nonzero(match.positive).squeeze(1)
        if positive.numel() == 0:
            continue
        gt_masks = downsample_masks(target.masks, (h, w))  # [G, h, w]
        scale = 1.0
        if positive.numel() > settings.masks_to_train:
            keep = torch.randperm(positive.numel(), generator=generator)[: settings.masks_to_train]
            scale = positive.numel() / settings.masks_to_train
            positive = positive[keep.to(positive.device)]
        objects = match.matched[positive]
        boxes = target.boxes.float()[objects]
        logits = torch.einsum("hwk,nk->nhw", prototypes[b], coefficients[b, positive])
        inside = crop_masks(torch.ones_like(logits), boxes)  # 1 inside each padded box, 0 outside
        mask_t = gt_masks[objects]
        # The original's BCE on the cropped sigmoid, taken from the logits: the same value, but a mask
        # that saturates (|logit| > ~17) keeps its gradient. Outside the crop the prediction is 0, which
        # costs the original's clamped log(0) = -100 wherever the ground truth is 1 (no gradient).
        bce = (F.binary_cross_entropy_with_logits(logits, mask_t, reduction="none") * inside).sum(dim=(1, 2))
        bce = bce + OUTSIDE_CROP_PENALTY * (mask_t * (1 - inside)).sum(dim=(1, 2))
        box_area = ((boxes[:, 2] - boxes[:, 0]) * w) * ((boxes[:, 3] - boxes[:, 1]) * h)
        total = total + (bce / box_area).sum() * scale
        if collect_maskiou:
            big = mask_t.sum(dim=(1, 2)) > settings.discard_mask_area
            if big.any():
                soft = torch.sigmoid(logits[big]) * inside[big]
                binary = (soft > 0.5).float()
                inter = (binary * mask_t[big]).sum(dim=(1, 2))
                union = binary.sum(dim=(1, 2)) + mask_t[big].sum(dim=(1, 2)) - inter
                iou_parts.append(_MaskIoUInputs(soft, inter / union, target.labels[objects[big]]))
    if not iou_parts:
        return total, None
    return total, _MaskIoUInputs(
        torch.cat([p.soft_masks for p in iou_parts]),
        torch.cat([p.iou for p in iou_parts]),
        torch.cat([p.classes for p in iou_parts]),
    )


def downsample_masks(masks: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """[G, S, S] 0/1 -> float [G, h, w] 0/1: bilinear (align_corners=False), then > 0.5, as the original."""
    if masks.shape[0] == 0:
        return masks.new_zeros((0, *size), dtype=torch.float32)
    small = F.interpolate(masks[None].float(), size=size, mode="bilinear", align_corners=False)[0]
    return (small > 0.5).float()


def semantic_segmentation_loss(segmentation: torch.Tensor, targets: list[ImageTargets]) -> torch.Tensor:
    """Summed over images: BCE-with-logits against each class's union of masks at P3 size, / (h * w)."""
    _, num_classes, h, w = segmentation.shape
    total = segmentation.new_zeros(())
    for b, target in enumerate(targets):
        with torch.no_grad():
            goal = torch.zeros(num_classes, h, w, device=segmentation.device)
            small = downsample_masks(target.masks, (h, w))
            if small.shape[0]:
                index = target.labels.to(segmentation.device)[:, None, None].expand_as(small)
                goal.scatter_reduce_(0, index, small, reduce="amax")
        total = total + F.binary_cross_entropy_with_logits(segmentation[b], goal, reduction="sum") / (h * w)
    return total


def maskiou_loss(maskiou_net: nn.Module, inputs: _MaskIoUInputs | None, like: torch.Tensor) -> torch.Tensor:
    """Summed smooth L1 between the re-scoring net's IoU for the true class and the measured IoU."""
    if inputs is None:
        return like.new_zeros(())
    predicted = maskiou_net(inputs.soft_masks[:, None])
    predicted = predicted.float().gather(1, inputs.classes[:, None]).squeeze(1)
    return F.smooth_l1_loss(predicted, inputs.iou, reduction="sum")
