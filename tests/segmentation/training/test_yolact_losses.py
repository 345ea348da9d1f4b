import math

import pytest
import torch

from protolabel.segmentation.training.losses import (
    ImageTargets,
    LossSettings,
    _MaskIoUInputs,
    box_loss,
    confidence_loss,
    hard_negatives,
    mask_loss,
    maskiou_loss,
    semantic_segmentation_loss,
)
from protolabel.segmentation.training.matching import NEUTRAL, AnchorTargets
from protolabel.segmentation.yolact.head import MaskIoUNet


def square_mask(size: int, x0: int, y0: int, x1: int, y1: int) -> torch.Tensor:
    mask = torch.zeros(size, size, dtype=torch.uint8)
    mask[y0:y1, x0:x1] = 1
    return mask


def test_hard_negatives_are_three_per_positive_and_the_most_confidently_wrong():
    torch.manual_seed(0)
    conf = torch.randn(2, 100, 3)
    labels = torch.zeros(2, 100, dtype=torch.long)
    labels[0, :4] = 1  # image 0: 4 positives -> 12 negatives
    labels[0, 4:10] = NEUTRAL  # neutrals are never negatives
    labels[1, 0] = 2  # image 1: 1 positive -> 3 negatives
    chosen = hard_negatives(conf, labels, ratio=3)
    assert chosen.sum(dim=1).tolist() == [12, 3]
    assert not chosen[0, :10].any() and not chosen[1, 0]
    background_loss = torch.logsumexp(conf, -1) - conf[..., 0]
    for b in range(2):
        candidates = labels[b] == 0
        threshold = background_loss[b][chosen[b]].min()
        assert (background_loss[b][candidates & ~chosen[b]] <= threshold).all()


def test_hard_negatives_never_exceed_what_exists():
    conf = torch.zeros(1, 10, 2)
    labels = torch.tensor([[1, 1, 1, 1, 0, 0, NEUTRAL, NEUTRAL, NEUTRAL, NEUTRAL]])
    assert hard_negatives(conf, labels, 3).sum() == 2


def test_confidence_loss_is_low_for_confident_right_answers_and_high_for_wrong_ones():
    labels = torch.tensor([[1, 0, 0, 0, 0, 2, NEUTRAL]])
    right = torch.full((1, 7, 3), -10.0)
    right[0, torch.arange(7), labels[0].clamp(min=0)] = 10.0
    wrong = -right
    assert confidence_loss(right, labels) < 1e-6
    # 2 positives + all 4 negatives (fewer than 3 x 2 exist); each pays -log(e^-10 / (2 e^10 + e^-10))
    assert confidence_loss(wrong, labels).item() == pytest.approx(6 * (20 + math.log(2)), rel=1e-4)


def test_box_loss_is_zero_on_target_and_smooth_l1_off_target():
    targets = torch.randn(1, 5, 4)
    positive = torch.tensor([[True, False, True, False, False]])
    assert box_loss(targets.clone(), targets, positive) == 0
    off = targets.clone()
    off[0, 0, 0] += 3.0  # |d| > 1: linear part, 3 - 0.5
    off[0, 2, 1] += 0.5  # |d| < 1: quadratic part, 0.5 * 0.25
    off[0, 1] += 100  # a negative anchor does not count
    assert box_loss(off, targets, positive).item() == pytest.approx(2.5 + 0.125, rel=1e-5)


def _one_object_setup(size: int = 32, proto: int = 16, logit: float = 12.0):
    """Prototypes with one channel that is +logit on the object and -logit elsewhere."""
    lo, hi = size // 4, 3 * size // 4
    gt = square_mask(size, lo, lo, hi, hi)
    box = torch.tensor([[lo / size, lo / size, hi / size, hi / size]])
    inside = square_mask(proto, proto // 4, proto // 4, 3 * proto // 4, 3 * proto // 4).float()
    prototypes = (inside * 2 - 1)[None, :, :, None] * logit  # [1, h, w, 1]
    targets = [ImageTargets(box, torch.tensor([0]), gt[None], torch.zeros(0, 4))]
    match = AnchorTargets(torch.tensor([1, 0]), torch.tensor([0, 0]), torch.zeros(2, 4))
    return prototypes, targets, match


def test_mask_loss_is_low_for_the_right_mask_and_high_for_its_inverse():
    prototypes, targets, match = _one_object_setup()
    right, _ = mask_loss(prototypes, torch.tensor([[[1.0], [0.0]]]), [match], targets, LossSettings())
    wrong, _ = mask_loss(prototypes, torch.tensor([[[-1.0], [0.0]]]), [match], targets, LossSettings())
    assert right < 1e-3
    assert wrong > 5  # about the logit (12) per pixel of the box: BCE averaged over the box area


def test_mask_loss_is_normalised_by_box_area():
    size, proto = 64, 32
    losses = []
    for side in (8, 24):  # an all-wrong prediction costs the same per box whatever the box size
        gt = square_mask(size, 0, 0, 2 * side, 2 * side)
        box = torch.tensor([[0.0, 0.0, 2 * side / size, 2 * side / size]])
        prototypes = torch.full((1, proto, proto, 1), -8.0)
        target = ImageTargets(box, torch.tensor([0]), gt[None], torch.zeros(0, 4))
        match = AnchorTargets(torch.tensor([1]), torch.tensor([0]), torch.zeros(1, 4))
        loss, _ = mask_loss(prototypes, torch.tensor([[[1.0]]]), [match], [target], LossSettings())
        losses.append(loss.item())
    assert losses[0] == pytest.approx(losses[1], rel=0.02)


def test_sampled_mask_loss_is_scaled_to_the_number_of_positives():
    prototypes, targets, _ = _one_object_setup()
    n = 250
    match = AnchorTargets(torch.ones(n, dtype=torch.long), torch.zeros(n, dtype=torch.long), torch.zeros(n, 4))
    coefficients = torch.full((1, n, 1), -0.5)
    few = LossSettings(masks_to_train=100)
    sampled, _ = mask_loss(prototypes, coefficients, [match], targets, few, torch.Generator().manual_seed(0))
    full, _ = mask_loss(prototypes, coefficients, [match], targets, LossSettings(masks_to_train=1000))
    assert sampled.item() == pytest.approx(full.item(), rel=1e-4)


def test_maskiou_targets_skip_tiny_masks_and_measure_the_binarised_iou():
    prototypes, targets, match = _one_object_setup(size=128, proto=64)  # the re-scoring net needs >= 63 pixels
    small = square_mask(128, 0, 0, 8, 8)  # 4 x 4 = 16 pixels at prototype size (<= 25): left out
    targets = [
        ImageTargets(
            torch.cat([targets[0].boxes, torch.tensor([[0, 0, 8 / 128, 8 / 128]])]),
            torch.tensor([1, 0]),
            torch.stack([targets[0].masks[0], small]),
            torch.zeros(0, 4),
        )
    ]
    match = AnchorTargets(torch.tensor([2, 1]), torch.tensor([0, 1]), torch.zeros(2, 4))
    _, inputs = mask_loss(
        prototypes, torch.tensor([[[1.0], [1.0]]]), [match], targets, LossSettings(), collect_maskiou=True
    )
    assert inputs.classes.tolist() == [1]
    assert inputs.iou.tolist() == pytest.approx([1.0])
    assert maskiou_loss(MaskIoUNet(num_classes=2), None, prototypes).item() == 0


class _FixedIoU(torch.nn.Module):
    """A stand-in re-scoring net that predicts the same per-class IoUs for every mask."""

    def __init__(self, per_class):
        super().__init__()
        self.per_class = torch.tensor(per_class)

    def forward(self, masks):
        return self.per_class.expand(masks.shape[0], -1)


def _maskiou_inputs(ious, classes):
    soft = torch.rand(len(ious), 64, 64, generator=torch.Generator().manual_seed(0))
    return _MaskIoUInputs(soft, torch.tensor(ious), torch.tensor(classes))


def test_maskiou_loss_is_the_smooth_l1_of_the_true_class_prediction():
    inputs = _maskiou_inputs([1.0, 0.25], [1, 0])
    like = torch.zeros(1)
    # mask 0 (class 1): predicted 0.7 for IoU 1.0 -> 0.5 * 0.3^2 = 0.045; mask 1 (class 0): 0.2 for 0.25 -> 0.00125
    assert maskiou_loss(_FixedIoU([0.2, 0.7]), inputs, like).item() == pytest.approx(0.045 + 0.00125, rel=1e-5)
    # |error| over 1 is linear: predicted 3.0 for 1.0 -> 2 - 0.5; 3.0 for 0.25 -> 2.75 - 0.5
    assert maskiou_loss(_FixedIoU([3.0, 3.0]), inputs, like).item() == pytest.approx(1.5 + 2.25, rel=1e-5)
    assert maskiou_loss(_FixedIoU([0.25, 1.0]), inputs, like).item() == 0  # exactly right


def test_training_the_rescoring_net_on_its_loss_lowers_it():
    torch.manual_seed(0)
    soft = torch.zeros(6, 64, 64)
    for i in range(6):  # masks of growing size; their "measured" IoU grows with them
        soft[i, : 8 * (i + 2), : 8 * (i + 2)] = 1.0
    inputs = _MaskIoUInputs(soft, torch.linspace(0.2, 0.95, 6), torch.tensor([0, 1, 0, 1, 0, 1]))
    net = MaskIoUNet(num_classes=2)
    with torch.no_grad():  # a fresh net's final ReLU can start dead for a class (then nothing learns)
        net.maskiou_net[10].bias.fill_(0.5)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)  # the trainer's optimiser
    first = maskiou_loss(net, inputs, soft).item()
    for _ in range(100):
        optimizer.zero_grad()
        loss = maskiou_loss(net, inputs, soft)
        loss.backward()
        optimizer.step()
    assert first > 0.05 and maskiou_loss(net, inputs, soft).item() < first / 10


def test_semantic_loss_is_low_when_each_class_map_matches_its_masks():
    masks = torch.stack([square_mask(16, 0, 0, 8, 8), square_mask(16, 8, 8, 16, 16)])
    target = ImageTargets(torch.zeros(2, 4), torch.tensor([1, 1]), masks, torch.zeros(0, 4))
    goal = torch.zeros(1, 3, 8, 8)
    goal[0, 1, :4, :4] = 1
    goal[0, 1, 4:, 4:] = 1
    right = semantic_segmentation_loss((goal * 2 - 1) * 15, [target])
    wrong = semantic_segmentation_loss((1 - goal * 2) * 15, [target])
    assert right < 1e-5
    assert wrong.item() == pytest.approx(3 * 15, rel=0.01)  # mean over pixels of each of 3 class maps


def test_loss_of_a_real_model_output_is_finite_with_all_terms(resnet50_checkpoint):
    from protolabel.segmentation.training.losses import YolactLoss
    from protolabel.segmentation.training.transfer import prepare_model

    model, _, _ = prepare_model(resnet50_checkpoint, ("a", "b"), max_size=64)
    model.train()
    torch.manual_seed(0)
    out = model(torch.randn(1, 3, 64, 64))
    target = ImageTargets(
        torch.tensor([[0.2, 0.2, 0.7, 0.8]]),
        torch.tensor([1]),
        square_mask(64, 13, 13, 45, 51)[None],
        torch.zeros(0, 4),
    )
    losses = YolactLoss()(out, [target])
    assert set(losses) == {"box", "conf", "mask", "semantic"}
    assert all(math.isfinite(v.item()) and v.item() > 0 for v in losses.values())
    sum(losses.values()).backward()
    assert model.prediction_layers[0].conf_layer.weight.grad.abs().sum() > 0
