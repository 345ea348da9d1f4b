import torch

from protolabel.segmentation.yolact.box_coder import decode_boxes, encode_boxes, pairwise_iou


def test_decode_uses_variances_and_corner_from_top_left():
    anchors = torch.tensor([[0.5, 0.5, 0.2, 0.4]])
    loc = torch.tensor([[1.0, -1.0, 0.5, 0.0]])
    boxes = decode_boxes(loc, anchors)[0]
    cx, cy = 0.5 + 1.0 * 0.1 * 0.2, 0.5 - 1.0 * 0.1 * 0.4
    w, h = 0.2 * torch.exp(torch.tensor(0.5 * 0.2)).item(), 0.4
    expected = torch.tensor([cx - w / 2, cy - h / 2, cx - w / 2 + w, cy - h / 2 + h])
    torch.testing.assert_close(boxes, expected)


def test_encode_inverts_decode():
    gen = torch.Generator().manual_seed(0)
    anchors = torch.rand(50, 4, generator=gen) * 0.5 + 0.1
    loc = torch.randn(50, 4, generator=gen)
    torch.testing.assert_close(encode_boxes(decode_boxes(loc, anchors), anchors), loc, atol=1e-4, rtol=1e-4)


def test_pairwise_iou_plain_area_formula():
    a = torch.tensor([[0.0, 0.0, 2.0, 2.0]])
    b = torch.tensor([[1.0, 1.0, 3.0, 3.0], [5.0, 5.0, 6.0, 6.0], [0.0, 0.0, 2.0, 2.0]])
    torch.testing.assert_close(pairwise_iou(a, b), torch.tensor([[1 / 7, 0.0, 1.0]]))


def test_pairwise_iou_batched_is_torchvision_box_iou_bit_for_bit():
    # Fast NMS compares 80 classes x 200 boxes at once; every class's matrix must be exactly the plain
    # formula's (torchvision's box_iou does the same float operations in the same order).
    from torchvision.ops import box_iou

    gen = torch.Generator().manual_seed(3)
    corner = torch.rand(6, 40, 2, generator=gen)
    boxes = torch.cat([corner, corner + torch.rand(6, 40, 2, generator=gen) * 0.4], dim=-1)
    boxes[0, :5] = boxes[0, 5:10]  # exact duplicates: IoU 1
    boxes[1, 0] = torch.tensor([0.3, 0.3, 0.3, 0.5])  # zero area: IoU 0 with everything else, NaN with itself
    ious = pairwise_iou(boxes, boxes)
    assert ious.shape == (6, 40, 40)
    for c in range(6):
        torch.testing.assert_close(ious[c], box_iou(boxes[c], boxes[c]), rtol=0, atol=0, equal_nan=True)
    # broadcasting leading dimensions: one set of boxes against each class's boxes
    against_all = pairwise_iou(boxes[2], boxes[:, :7])
    for c in range(6):
        torch.testing.assert_close(against_all[c], box_iou(boxes[2], boxes[c, :7]), rtol=0, atol=0)
