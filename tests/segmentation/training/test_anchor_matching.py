import torch

from protolabel.segmentation.training.matching import NEUTRAL, MatchThresholds, anchor_corners, match_anchors
from protolabel.segmentation.yolact.box_coder import decode_boxes


def grid_anchors(n: int = 8, size: float = 0.25) -> torch.Tensor:
    """n x n anchors of one size centred on a regular grid (cx, cy, w, h)."""
    centres = (torch.arange(n, dtype=torch.float32) + 0.5) / n
    cy, cx = torch.meshgrid(centres, centres, indexing="ij")
    return torch.stack([cx.ravel(), cy.ravel(), torch.full((n * n,), size), torch.full((n * n,), size)], dim=1)


def test_box_on_an_anchor_is_positive_with_its_class_and_decodes_back():
    anchors = grid_anchors()
    box = anchor_corners(anchors[10:11])
    targets = match_anchors(box, torch.tensor([1]), anchors)
    assert targets.labels[10] == 2  # class 1 -> label 2 (0 is background)
    assert torch.allclose(
        decode_boxes(targets.loc[targets.positive], anchors[targets.positive]),
        box.expand(int(targets.positive.sum()), 4),
        atol=1e-6,
    )
    far = anchor_corners(anchors[63:64])
    assert targets.labels[63] == 0 and not torch.equal(far, box)


def test_thresholds_make_positive_neutral_and_negative():
    anchors = torch.tensor([[0.5, 0.5, 0.2, 0.2], [0.5, 0.5, 0.2, 0.2], [0.5, 0.5, 0.2, 0.2], [0.1, 0.1, 0.1, 0.1]])

    # Shift three identical anchors so that their IoU with the box is 0.6 / 0.45 / 0.3.
    def shifted(iou: float) -> float:  # 1-D overlap o of two 0.2 boxes: iou = o / (0.4 - o) in x only
        o = 0.4 * iou / (1 + iou)
        return 0.5 + (0.2 - o)

    for i, iou in enumerate((0.6, 0.45, 0.3)):
        anchors[i, 0] = shifted(iou)
    box = torch.tensor([[0.4, 0.4, 0.6, 0.6]])
    targets = match_anchors(box, torch.tensor([0]), anchors, thresholds=MatchThresholds(0.5, 0.4))
    # Anchor 0 (IoU 0.6) is positive; 1 (0.45) neutral; 2 (0.3) and 3 (0) negative.
    assert targets.labels.tolist() == [1, NEUTRAL, 0, 0]


def test_every_object_gets_an_anchor_even_below_the_positive_threshold():
    anchors = grid_anchors(4, size=0.25)
    tiny = torch.tensor([[0.10, 0.10, 0.14, 0.14]])  # IoU with any anchor far below 0.5
    targets = match_anchors(tiny, torch.tensor([0]), anchors)
    assert int(targets.positive.sum()) == 1
    assert int(torch.nonzero(targets.positive)) == 0  # the anchor at the top-left covers it best


def test_two_objects_with_the_same_best_anchor_get_different_anchors():
    anchors = grid_anchors(4, size=0.25)
    boxes = torch.tensor([[0.0, 0.0, 0.2, 0.2], [0.02, 0.02, 0.22, 0.22]])
    targets = match_anchors(boxes, torch.tensor([0, 1]), anchors)
    positives = torch.nonzero(targets.positive).squeeze(1)
    assert len(positives) == 2
    assert set(targets.matched[positives].tolist()) == {0, 1}


def test_crowd_region_makes_covered_negatives_neutral_but_keeps_positives():
    anchors = grid_anchors(8, size=0.125)
    box = anchor_corners(anchors[0:1])
    crowd = torch.tensor([[0.5, 0.5, 1.0, 1.0]])
    targets = match_anchors(box, torch.tensor([0]), anchors, crowd)
    covered = (anchors[:, 0] > 0.5) & (anchors[:, 1] > 0.5)
    assert targets.labels[0] == 1
    assert (targets.labels[covered] == NEUTRAL).all()
    assert (targets.labels[~covered & ~targets.positive] == 0).all()


def test_image_without_objects_is_all_background():
    anchors = grid_anchors()
    targets = match_anchors(torch.zeros(0, 4), torch.zeros(0, dtype=torch.long), anchors)
    assert (targets.labels == 0).all() and torch.isfinite(targets.loc).all()
