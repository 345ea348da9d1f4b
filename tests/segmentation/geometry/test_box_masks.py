"""BoxMasks: box-local detection masks give what the dense [D, H, W] masks gave (polygons, RLE, IoU)."""

import pickle

import numpy as np
import pycocotools.mask as mask_utils
import pytest
import torch

from protolabel.segmentation.geometry.box_masks import BoxMasks, pairwise_iou
from protolabel.segmentation.geometry.combine import ellipse_shape, rectangle_shape
from protolabel.segmentation.geometry.outlines import mask_to_shape
from protolabel.segmentation.geometry.overlap import mask_iou
from protolabel.segmentation.geometry.rasterise import shape_to_mask
from protolabel.segmentation.yolact.masks import assemble_soft_masks, binarize_at_image_size


def _engine_like_masks(seed: int, image_size: tuple[int, int], d: int = 30) -> BoxMasks:
    """Masks as the engine makes them: random prototypes and boxes (some crossing or touching the border)."""
    gen = torch.Generator().manual_seed(seed)
    protos = torch.relu(torch.randn(46, 46, 6, generator=gen))
    xy = torch.rand(d, 2, generator=gen) * 1.2 - 0.15
    boxes = torch.cat([xy, xy + torch.rand(d, 2, generator=gen) * 0.7], dim=1)
    boxes[0] = torch.tensor([-0.1, -0.1, 1.1, 1.1])  # the whole image, past every border
    boxes[1] = torch.tensor([0.6, 0.7, 1.0, 1.0])  # touching the bottom-right border
    soft = assemble_soft_masks(protos, torch.randn(d, 6, generator=gen) * 3, boxes)
    return BoxMasks(image_size, *binarize_at_image_size(soft, boxes, image_size))


@pytest.fixture(scope="module")
def engine_masks() -> list[BoxMasks]:
    return [_engine_like_masks(seed, size) for seed, size in enumerate([(120, 160), (97, 203), (64, 64), (150, 41)])]


def test_polygons_from_the_crops_are_identical_to_the_dense_ones(engine_masks):
    compared = 0
    for masks in engine_masks:
        dense = masks.to_dense()
        for i in range(len(masks)):
            for tolerance, min_area in ((1.0, 4.0), (0.0, 0.0), (2.5, 10.0)):
                assert masks.to_shape(i, tolerance=tolerance, min_area=min_area) == mask_to_shape(
                    dense[i], tolerance=tolerance, min_area=min_area
                )
            compared += dense[i].any()
    assert compared > 60  # most detections have pixels: the comparison is not of empty shapes


def test_rle_from_the_crops_is_pycocotools_encoding_of_the_dense_mask(engine_masks):
    for masks in engine_masks:
        for i, mask in enumerate(masks.to_dense()):
            expected = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
            got = masks.to_rle(i)
            assert got["size"] == [int(s) for s in expected["size"]]
            assert got["counts"] == expected["counts"].decode("ascii")


def test_areas_dense_and_select_agree_with_the_dense_stack(engine_masks):
    masks = engine_masks[1]
    dense = masks.to_dense()
    assert dense.shape == (len(masks), 97, 203) and dense.dtype == np.bool_
    assert masks.areas.tolist() == dense.sum(axis=(1, 2)).tolist()
    assert all(masks.area(i) == dense[i].sum() for i in range(len(masks)))
    np.testing.assert_array_equal(masks.dense(5), dense[5])
    keep = masks.areas > masks.areas.mean()
    np.testing.assert_array_equal(masks.select(keep).to_dense(), dense[keep])
    np.testing.assert_array_equal(masks.select(np.array([4, 0, 4])).to_dense(), dense[[4, 0, 4]])
    np.testing.assert_array_equal(masks.select(slice(2, 6)).to_dense(), dense[2:6])
    np.testing.assert_array_equal(masks.select(3).to_dense(), dense[3:4])
    with pytest.raises(IndexError):
        masks.select(np.ones(len(masks) + 1, bool))
    with pytest.raises(TypeError, match="dense"):  # a dense-array habit fails loudly
        masks[0]
    with pytest.raises(TypeError, match="dense"):
        list(zip(masks, range(3)))
    x0, y0, x1, y1 = masks.window(7)
    assert masks.crop(7).shape == (y1 - y0, x1 - x0) and not masks.crop(7).flags.writeable
    assert not dense[7].sum() - dense[7][masks.slices(7)].sum()  # no pixel outside the window


def test_from_dense_round_trips_and_crops_tightly():
    rng = np.random.default_rng(4)
    dense = np.zeros((4, 30, 50), bool)
    dense[0, 3:9, 40:50] = rng.random((6, 10)) > 0.3
    dense[1, 29, 0] = True  # one pixel in the corner
    dense[3] = rng.random((30, 50)) > 0.5
    masks = BoxMasks.from_dense(dense)
    np.testing.assert_array_equal(masks.to_dense(), dense)
    assert masks.crop(2).size == 0 and masks.crop(1).shape == (1, 1) and masks.window(1) == (0, 29, 1, 30)
    assert len(BoxMasks.from_dense(np.zeros((0, 5, 6), bool))) == 0


def test_from_shapes_rasterises_as_shape_to_mask():
    shapes = [
        ellipse_shape(3.2, 4.7, 40.1, 22.9),
        rectangle_shape(-5, 10, 12.5, 70),
        rectangle_shape(70, 70, 90, 90),
        mask_to_shape(np.pad(np.ones((5, 5), bool), 3)),
    ]
    masks = BoxMasks.from_shapes(shapes, (50, 60))
    for i, shape in enumerate(shapes):
        np.testing.assert_array_equal(masks.dense(i), shape_to_mask(shape, 50, 60))
    assert masks.area(2) == 0  # outside the image


def test_pairwise_iou_is_the_dense_mask_iou(engine_masks):
    a, b = engine_masks[0], engine_masks[0].select(np.arange(29, -1, -3))
    dense_a, dense_b = a.to_dense(), b.to_dense()
    ious = pairwise_iou(a, b)
    expected = np.array([[mask_iou(x, y) for y in dense_b] for x in dense_a])
    np.testing.assert_array_equal(ious, expected)
    assert (ious == 1).sum() >= 5 and ((ious > 0) & (ious < 1)).any()
    with pytest.raises(ValueError, match="different images"):
        pairwise_iou(a, engine_masks[1])


def test_pickles_small_and_whole(engine_masks):
    masks = engine_masks[0]
    again = pickle.loads(pickle.dumps(masks))
    np.testing.assert_array_equal(again.to_dense(), masks.to_dense())
    np.testing.assert_array_equal(again.offsets, masks.offsets)
    assert len(pickle.dumps(masks)) < masks.nbytes / 4  # bit-packed
    empty = pickle.loads(pickle.dumps(BoxMasks.empty((7, 9))))
    assert len(empty) == 0 and empty.image_size == (7, 9)


def test_masks_of_small_boxes_on_a_large_image_cost_the_boxes_not_the_image():
    height, width, d = 4000, 6000, 100
    gen = torch.Generator().manual_seed(0)
    corner = torch.rand(d, 2, generator=gen) * 0.95
    boxes = torch.cat([corner, corner + 0.01], dim=1)
    soft = assemble_soft_masks(
        torch.relu(torch.randn(138, 138, 4, generator=gen)), torch.randn(d, 4, generator=gen), boxes
    )
    masks = BoxMasks((height, width), *binarize_at_image_size(soft, boxes, (height, width)))
    assert len(masks) == d and masks.areas.sum() > 0
    assert masks.nbytes < 0.002 * d * height * width  # a dense stack would be 2.4 GB; these are a few MB
    assert len(pickle.dumps(masks)) < masks.nbytes


def test_bad_crops_are_refused_with_the_reason():
    with pytest.raises(ValueError, match="not inside the 10x8 image"):
        BoxMasks((8, 10), (np.ones((3, 3), bool),), np.array([[8, 0]]))
    with pytest.raises(ValueError, match="2 crops but 1 offsets"):
        BoxMasks((8, 10), (np.ones((3, 3), bool), np.ones((1, 1), bool)), np.array([[0, 0]]))
    with pytest.raises(ValueError, match="not 2-D"):
        BoxMasks((8, 10), (np.ones(3, bool),), np.array([[0, 0]]))
