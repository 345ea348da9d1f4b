import numpy as np
import pytest
import torch
import torch.nn.functional as F

from segmentation.yolact.masks import assemble_soft_masks, binarize_at_image_size, crop_masks


def test_crop_keeps_one_prototype_pixel_of_padding_with_float_bounds():
    masks = torch.ones(1, 10, 10)
    # x from 0.25*10=2.5 to 0.55*10=5.5 -> padded [1.5, 6.5): columns 2..6 kept
    cropped = crop_masks(masks, torch.tensor([[0.55, 0.0, 0.25, 1.0]]))  # corners given swapped
    assert cropped[0, 0].nonzero().flatten().tolist() == [2, 3, 4, 5, 6]
    assert cropped[0, :, 4].sum() == 10  # y covers everything, clamped to the map


def test_crop_at_image_border_clamps():
    cropped = crop_masks(torch.ones(1, 8, 8), torch.tensor([[-0.5, 0.9, 0.05, 1.4]]))
    rows, cols = cropped[0].nonzero().unbind(1)
    assert cols.unique().tolist() == [0, 1]  # lo_x clamped to 0, hi_x = 0.05*8 + 1 = 1.4
    assert rows.unique().tolist() == [7]  # lo_y = 0.9*8 - 1 = 6.2 (float, not rounded), hi_y clamped to 8


def test_assemble_is_sigmoid_of_linear_combination():
    protos = torch.randn(6, 5, 3)
    coeffs = torch.randn(2, 3)
    soft = assemble_soft_masks(protos, coeffs)
    torch.testing.assert_close(soft[1], torch.sigmoid(protos @ coeffs[1]))


@pytest.mark.parametrize("image_size", [(512, 512), (241, 333), (90, 70), (1080, 1920)])
def test_windowed_binarisation_equals_full_resize(image_size):
    gen = torch.Generator().manual_seed(image_size[0])
    protos = torch.relu(torch.randn(69, 69, 8, generator=gen))
    coeffs = torch.randn(12, 8, generator=gen)
    xy = torch.rand(12, 2, generator=gen) * 1.2 - 0.1
    wh = torch.rand(12, 2, generator=gen) * 0.6
    boxes = torch.cat([xy, xy + wh], dim=1)
    boxes[0] = torch.tensor([1.05, 0.2, 1.3, 0.4])  # entirely outside: empty mask
    soft = assemble_soft_masks(protos, coeffs, boxes)
    full = F.interpolate(soft[None], size=image_size, mode="bilinear", align_corners=False)[0] > 0.5
    windowed = binarize_at_image_size(soft, boxes, image_size)
    mismatch = (torch.from_numpy(windowed) != full).sum().item()
    assert mismatch <= 2  # float rounding exactly at 0.5 only
    assert not windowed[0].any()


def test_binarisation_of_no_detections():
    out = binarize_at_image_size(torch.zeros(0, 10, 10), torch.zeros(0, 4), (20, 30))
    assert out.shape == (0, 20, 30) and out.dtype == np.bool_
