import numpy as np
import torch

from protolabel.segmentation.yolact.nms import NmsSettings, detect, greedy_nms


def _probs(fg_scores):
    """[N, C-1] foreground scores -> [N, C] with a background column."""
    fg = torch.tensor(fg_scores, dtype=torch.float32)
    return torch.cat([1 - fg.sum(1, keepdim=True), fg], dim=1)


CHAIN = torch.tensor([[0.0, 0.0, 1.0, 1.0], [0.3, 0.0, 1.3, 1.0], [0.6, 0.0, 1.6, 1.0]])


def test_fast_nms_suppressed_boxes_still_suppress():
    # A overlaps B (IoU 0.54), B overlaps C (0.54), A and C barely overlap (0.25).
    probs = _probs([[0.9], [0.8], [0.7]])
    out = detect(CHAIN, probs, torch.zeros(3, 4), NmsSettings(method="fast"), 550)
    assert out.scores.tolist() == [torch.tensor(0.9).item()]  # C is removed by the (removed) B
    trad = detect(CHAIN, probs, torch.zeros(3, 4), NmsSettings(method="traditional"), 550)
    assert len(trad.scores) == 2  # greedy NMS keeps A and C


def test_candidates_need_best_foreground_score_strictly_above_threshold():
    boxes = torch.tensor([[0.0, 0.0, 0.1, 0.1], [0.5, 0.5, 0.6, 0.6]])
    probs = _probs([[0.05, 0.0], [0.06, 0.01]])
    out = detect(boxes, probs, torch.zeros(2, 4), NmsSettings(), 550)
    # only anchor 1 is a candidate, and both of its classes survive, low score included
    assert sorted(out.classes.tolist()) == [0, 1]
    assert torch.allclose(out.boxes, boxes[1].expand(2, 4))


def test_no_candidates_gives_empty_result():
    out = detect(CHAIN, _probs([[0.01, 0.01]] * 3), torch.zeros(3, 7), NmsSettings(), 550)
    assert out.scores.shape == (0,) and out.coefficients.shape == (0, 7)


def test_fast_nms_caps_at_max_detections_sorted_by_score():
    gen = torch.Generator().manual_seed(1)
    n = 300
    xy = torch.rand(n, 2, generator=gen) * 10
    boxes = torch.cat([xy, xy + 0.05], dim=1)  # tiny disjoint boxes: nothing suppressed
    probs = _probs(torch.rand(n, 3, generator=gen).mul(0.3).tolist())
    out = detect(boxes, probs, torch.zeros(n, 2), NmsSettings(max_detections=100), 550)
    assert len(out.scores) == 100
    assert torch.all(out.scores[:-1] >= out.scores[1:])


def test_cross_class_nms_uses_best_class_per_anchor():
    probs = _probs([[0.2, 0.7], [0.6, 0.1], [0.1, 0.1]])
    out = detect(CHAIN, probs, torch.zeros(3, 4), NmsSettings(method="cross_class"), 550)
    # anchor 0 (class 1, 0.7) suppresses anchor 1 (IoU 0.54) although its best class differs,
    # and the suppressed anchor 1 still suppresses anchor 2 (Fast NMS over all classes)
    assert out.classes.tolist() == [1]
    assert out.scores.tolist() == [torch.tensor(0.7).item()]


def test_greedy_nms_plus_one_convention_and_inclusive_threshold():
    # In pixel units with +1: boxes [0,0,9,9] and [5,0,14,9] -> inter 5*10, areas 100 each, IoU = 50/150
    boxes = np.array([[0, 0, 9, 9], [5, 0, 14, 9]], dtype=np.float64)
    scores = np.array([0.9, 0.8])
    assert greedy_nms(boxes, scores, 1 / 3).tolist() == [0]  # IoU == threshold suppresses
    assert greedy_nms(boxes, scores, 0.34).tolist() == [0, 1]
