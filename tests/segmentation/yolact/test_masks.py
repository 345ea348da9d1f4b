import numpy as np
import pytest
import torch
import torch.nn.functional as F

import protolabel.segmentation.yolact.masks as masks_module
from protolabel.segmentation.yolact.masks import (
    _axis_sampling,
    assemble_soft_masks,
    binarize_at_image_size,
    crop_bounds,
    crop_masks,
)


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


def _dense(crops, offsets, image_size) -> np.ndarray:
    """Crops placed at their offsets in a zero [D, H, W] stack (written here, not BoxMasks', on purpose)."""
    out = np.zeros((len(crops), *image_size), bool)
    for i, (crop, (x0, y0)) in enumerate(zip(crops, offsets)):
        assert crop.dtype == np.bool_ and crop.ndim == 2
        out[i, y0 : y0 + crop.shape[0], x0 : x0 + crop.shape[1]] = crop
    return out


def _dense_binarization_before_issue_14(masks, boxes_rel, image_size, threshold=0.5):
    """The dense [D, H, W] CPU computation binarize_at_image_size made before masks became box-local,
    kept verbatim as the oracle of its pixels."""
    d, h, w = masks.shape
    height, width = image_size
    out = np.zeros((d, height, width), dtype=bool)
    if d == 0:
        return out
    soft = masks.float().numpy()
    ylo, yhi, yw = _axis_sampling(h, height)
    xlo, xhi, xw = _axis_sampling(w, width)
    bounds = crop_bounds(boxes_rel.float(), h, w).numpy()
    for i in range(d):
        lo_x, lo_y, hi_x, hi_y = bounds[i]
        c0, c1 = int(np.ceil(lo_x)), int(np.ceil(hi_x)) - 1
        r0, r1 = int(np.ceil(lo_y)), int(np.ceil(hi_y)) - 1
        if c1 < c0 or r1 < r0:
            continue
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


def _random_boxes(gen, d):
    """Relative boxes: anywhere, crossing and touching the borders, tiny, degenerate, swapped, outside."""
    xy = torch.rand(d, 2, generator=gen) * 1.2 - 0.1
    wh = torch.rand(d, 2, generator=gen) * 0.6
    boxes = torch.cat([xy, xy + wh], dim=1)
    boxes[0] = torch.tensor([1.05, 0.2, 1.3, 0.4])  # entirely outside: empty mask
    boxes[1] = torch.tensor([-0.2, -0.3, 0.3, 0.25])  # crosses the top-left corner
    boxes[2] = torch.tensor([0.7, 0.6, 1.0, 1.0])  # touches the bottom-right border
    boxes[3] = torch.tensor([0.5, 0.5, 0.503, 0.502])  # tiny
    boxes[4] = torch.tensor([0.4, 0.4, 0.4, 0.4])  # no area
    boxes[5] = torch.tensor([0.9, 0.8, 0.6, 0.1])  # corners swapped
    boxes[6] = torch.tensor([0.0, 0.0, 1.0, 1.0])  # the whole image
    boxes[7] = torch.tensor([-0.5, 0.3, -0.01, 0.6])  # left of the image, the padding reaches in
    return boxes


@pytest.mark.parametrize("image_size", [(512, 512), (241, 333), (90, 70), (1080, 1920), (37, 611), (3, 5)])
def test_box_local_binarisation_keeps_every_pixel_of_the_dense_one(image_size):
    gen = torch.Generator().manual_seed(image_size[0] * 7 + image_size[1])
    protos = torch.relu(torch.randn(69, 69, 8, generator=gen))
    coeffs = torch.randn(24, 8, generator=gen) * 2
    boxes = _random_boxes(gen, 24)
    soft = assemble_soft_masks(protos, coeffs, boxes)
    crops, offsets = binarize_at_image_size(soft, boxes, image_size)
    assert len(crops) == 24 and offsets.shape == (24, 2) and offsets.dtype == np.int64
    np.testing.assert_array_equal(
        _dense(crops, offsets, image_size), _dense_binarization_before_issue_14(soft, boxes, image_size)
    )
    assert crops[0].size == 0
    # and the torch resize of the whole stack is the independent oracle of both
    full = F.interpolate(soft[None], size=image_size, mode="bilinear", align_corners=False)[0] > 0.5
    assert (torch.from_numpy(_dense(crops, offsets, image_size)) != full).sum().item() <= 2  # ties at 0.5 only


def test_crops_stay_near_their_boxes_on_a_large_image():
    gen = torch.Generator().manual_seed(3)
    height, width = 4000, 6000
    protos = torch.relu(torch.randn(138, 138, 8, generator=gen))
    corner = torch.rand(100, 2, generator=gen) * 0.9
    boxes = torch.cat([corner, corner + 0.02], dim=1)  # 120x80-pixel boxes
    crops, offsets = binarize_at_image_size(
        assemble_soft_masks(protos, torch.randn(100, 8, generator=gen), boxes), boxes, (height, width)
    )
    # each window is the box plus at most three prototype pixels (the crop's padding, the kept
    # pixel's rounding, the bilinear tap) on each side
    for crop, (x0, y0), box in zip(crops, offsets, boxes.numpy() * [width, height, width, height]):
        pad_x, pad_y = 3 * width / 138 + 1, 3 * height / 138 + 1
        assert box[0] - pad_x <= x0 and x0 + crop.shape[1] <= box[2] + pad_x
        assert box[1] - pad_y <= y0 and y0 + crop.shape[0] <= box[3] + pad_y
    assert sum(c.nbytes for c in crops) < 0.01 * 100 * height * width


def test_binarisation_of_no_detections():
    crops, offsets = binarize_at_image_size(torch.zeros(0, 10, 10), torch.zeros(0, 4), (20, 30))
    assert crops == [] and offsets.shape == (0, 2)


def test_negative_threshold_is_refused():
    with pytest.raises(ValueError, match="threshold"):
        binarize_at_image_size(torch.zeros(1, 10, 10), torch.zeros(1, 4), (20, 30), threshold=-0.1)


def _device_case(device):
    gen = torch.Generator().manual_seed(11)
    protos = torch.relu(torch.randn(69, 69, 8, generator=gen))
    boxes = _random_boxes(gen, 24)
    soft = assemble_soft_masks(protos, torch.randn(24, 8, generator=gen) * 2, boxes).to(device)
    return soft, boxes.to(device)


def test_device_branch_takes_torch_resize_windows_in_chunks(monkeypatch):
    """The CUDA branch's code (resize + threshold on the tensor's device, windows cut there, chunked),
    run on CPU tensors: exactly torch's own dense resize, in whatever chunks it goes."""
    image_size = (150, 170)
    soft, boxes = _device_case("cpu")
    full = (F.interpolate(soft[None], size=image_size, mode="bilinear", align_corners=False)[0] > 0.5).numpy()
    windows, _ = masks_module._output_windows(boxes, soft.shape[1:], image_size)
    for chunk_pixels in (1, 150 * 170 * 5, 2**28):  # one detection at a time, five, all at once
        monkeypatch.setattr(masks_module, "_DEVICE_CHUNK_PIXELS", chunk_pixels)
        crops = masks_module._binarize_on_device(soft, windows, image_size, 0.5)
        np.testing.assert_array_equal(_dense(crops, windows[:, :2], image_size), full)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_binarisation_is_the_dense_cuda_resize():
    image_size = (1080, 1920)
    soft, boxes = _device_case("cuda")
    full = (F.interpolate(soft[None], size=image_size, mode="bilinear", align_corners=False)[0] > 0.5).cpu().numpy()
    crops, offsets = binarize_at_image_size(soft, boxes, image_size)
    np.testing.assert_array_equal(_dense(crops, offsets, image_size), full)
