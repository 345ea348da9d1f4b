"""Mask <-> polygon conversion: exactness, holes, parts, specks, borders, COCO rasterisation."""

from __future__ import annotations

import cv2
import numpy as np
import pycocotools.mask as mask_utils
import pytest
from shapely.geometry import MultiPolygon

from protolabel.segmentation.geometry.coco_shapes import (
    shape_from_coco_polygons,
    shape_from_rle,
    shape_to_coco_polygons,
)
from protolabel.segmentation.geometry.measures import shape_area, shape_bbox
from protolabel.segmentation.geometry.outlines import mask_to_shape
from protolabel.segmentation.geometry.rasterise import shape_to_mask, shape_to_rle
from protolabel.segmentation.geometry.rle import mask_to_rle, rle_area, rle_counts, rle_to_mask
from protolabel.segmentation.geometry.shapely_bridge import make_shape_valid, shape_to_geometry
from protolabel.segmentation.geometry.shapes import Polygon, Shape

# pycocotools' decode warns about numpy 2's copy keyword on every call; not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return np.count_nonzero(a & b) / np.count_nonzero(a | b)


def smooth_blob(rng: np.random.Generator, size: int, grid: int = 5, pad: int = 8) -> np.ndarray:
    """A random smooth object mask of about size x size pixels, like an upsampled YOLACT mask."""
    noise = rng.random((grid, grid)).astype(np.float32)
    field = cv2.resize(noise, (size, size), interpolation=cv2.INTER_CUBIC)
    mask = np.zeros((size + 2 * pad, size + 2 * pad), bool)
    mask[pad:-pad, pad:-pad] = field > 0.5
    return mask


def test_rectangle_outline_follows_pixel_edges():
    mask = np.zeros((20, 30), bool)
    mask[3:9, 4:14] = True  # rows 3..8, cols 4..13
    shape = mask_to_shape(mask)
    assert len(shape.polygons) == 1 and not shape.has_holes
    ext = shape.polygons[0].exterior
    assert sorted(map(tuple, ext.tolist())) == [(4, 3), (4, 9), (14, 3), (14, 9)]
    assert shape_area(shape) == 60 == mask.sum()
    assert shape_bbox(shape) == (4.0, 3.0, 10.0, 6.0)
    # COCO's own rasteriser puts the polygon back onto exactly those pixels
    coco = mask_utils.decode(mask_utils.frPyObjects(shape_to_coco_polygons(shape), 20, 30))[:, :, 0]
    assert np.array_equal(coco.astype(bool), mask)


def test_exact_outline_round_trips_random_masks_pixel_for_pixel():
    rng = np.random.default_rng(0)
    for _ in range(60):
        h, w = rng.integers(3, 30, size=2)
        mask = rng.random((h, w)) < rng.uniform(0.2, 0.8)  # many diagonal contacts, holes, islands
        shape = mask_to_shape(mask, tolerance=0, min_area=0)
        assert shape_to_geometry(shape).is_valid
        assert shape_area(shape) == mask.sum()
        assert np.array_equal(shape_to_mask(shape, h, w), mask)


def test_hole_is_kept_and_subtracted_when_rasterised():
    mask = np.zeros((40, 40), bool)
    mask[5:35, 5:35] = True
    mask[15:25, 12:20] = False
    shape = mask_to_shape(mask)
    assert len(shape.polygons) == 1 and len(shape.polygons[0].holes) == 1
    assert shape_area(shape) == mask.sum() == 900 - 80
    assert np.array_equal(shape_to_mask(shape, 40, 40), mask)
    with pytest.raises(ValueError, match="holes"):
        shape_to_coco_polygons(shape)


def test_island_inside_a_hole_is_its_own_part():
    mask = np.zeros((50, 50), bool)
    mask[5:45, 5:45] = True
    mask[12:38, 12:38] = False
    mask[20:30, 20:30] = True  # island in the hole
    shape = mask_to_shape(mask)
    assert len(shape.polygons) == 2
    assert [len(p.holes) for p in shape.polygons] == [1, 0]  # largest part first
    assert np.array_equal(shape_to_mask(shape, 50, 50), mask)


def test_all_parts_are_kept_not_only_the_largest():
    mask = np.zeros((60, 80), bool)
    mask[5:40, 5:40] = True
    mask[10:20, 60:75] = True
    mask[50:55, 50:58] = True
    shape = mask_to_shape(mask)
    assert len(shape.polygons) == 3
    assert shape.polygons[0].exterior[:, 0].max() == 40  # largest first
    assert np.array_equal(shape_to_mask(shape, 60, 80), mask)


def test_specks_and_pinholes_below_min_area_are_dropped():
    mask = np.zeros((40, 40), bool)
    mask[5:30, 5:30] = True
    mask[10, 10] = False  # 1-pixel pinhole
    mask[35, 35] = True  # 1-pixel speck
    mask[36:38, 2:3] = True  # 2-pixel speck
    shape = mask_to_shape(mask, min_area=4)
    assert len(shape.polygons) == 1 and not shape.has_holes
    assert shape_area(shape) == 625
    kept = mask_to_shape(mask, tolerance=0, min_area=0)
    assert len(kept.polygons) == 3 and kept.has_holes


def test_tiny_objects_survive_at_the_area_floor():
    mask = np.zeros((10, 10), bool)
    mask[4:6, 4:6] = True  # 4 px, exactly the default floor
    shape = mask_to_shape(mask)
    assert shape_area(shape) == 4
    assert np.array_equal(shape_to_mask(shape, 10, 10), mask)
    single = np.zeros((10, 10), bool)
    single[2, 3] = True
    assert mask_to_shape(single).is_empty()
    assert shape_area(mask_to_shape(single, tolerance=0, min_area=0)) == 1


def test_empty_mask_gives_empty_shape():
    shape = mask_to_shape(np.zeros((8, 9), bool))
    assert shape.is_empty() and shape.polygons == ()
    assert shape_bbox(shape) == (0.0, 0.0, 0.0, 0.0)
    assert not shape_to_mask(shape, 8, 9).any()


def test_self_touching_contours_are_valid():
    # two squares touching at one corner, and a ring whose hole touches the outline at a corner
    mask = np.zeros((30, 30), bool)
    mask[2:10, 2:10] = True
    mask[10:18, 10:18] = True
    shape = mask_to_shape(mask)
    geometry = shape_to_geometry(shape)
    assert geometry.is_valid and len(shape.polygons) == 2
    assert np.array_equal(shape_to_mask(shape, 30, 30), mask)

    ring = np.zeros((30, 30), bool)
    ring[5:25, 5:25] = True
    ring[10:20, 10:20] = False
    ring[20:25, 20:25] = False  # notch meeting the hole's corner diagonally
    ring_shape = mask_to_shape(ring, tolerance=0, min_area=0)
    assert shape_to_geometry(ring_shape).is_valid
    assert np.array_equal(shape_to_mask(ring_shape, 30, 30), ring)


def test_masks_touching_the_image_border():
    mask = np.zeros((25, 35), bool)
    mask[0:10, 0:12] = True  # top-left corner
    mask[15:25, 30:35] = True  # bottom-right corner
    shape = mask_to_shape(mask)
    pts = np.concatenate([p.exterior for p in shape.polygons])
    assert pts.min() == 0 and pts[:, 0].max() == 35 and pts[:, 1].max() == 25
    assert np.array_equal(shape_to_mask(shape, 25, 35), mask)
    full = np.ones((7, 9), bool)
    assert np.array_equal(shape_to_mask(mask_to_shape(full), 7, 9), full)


@pytest.mark.parametrize("size", [32, 48, 96, 200])
def test_simplified_polygons_cover_objects_with_iou_095(size):
    rng = np.random.default_rng(size)
    saved = []
    for _ in range(15):
        mask = smooth_blob(rng, size)
        if mask.sum() < 100:
            continue
        exact = mask_to_shape(mask, tolerance=0, min_area=0)
        shape = mask_to_shape(mask)
        h, w = mask.shape
        assert iou(shape_to_mask(shape, h, w), mask) >= 0.95
        assert shape_to_geometry(shape).is_valid
        saved.append(1 - shape.num_vertices / exact.num_vertices)
    assert np.mean(saved) > 0.5  # simplification pays: most staircase vertices go


def test_disk_simplification_keeps_iou_and_saves_vertices():
    yy, xx = np.mgrid[:100, :100]
    disk = (xx - 50.3) ** 2 + (yy - 49.6) ** 2 < 16**2  # 32 px across
    shape = mask_to_shape(disk)
    assert iou(shape_to_mask(shape, 100, 100), disk) >= 0.95
    assert shape.num_vertices < mask_to_shape(disk, tolerance=0).num_vertices / 3


def test_thin_object_falls_back_to_a_finer_tolerance():
    # a 2-px-wide zigzag: plain 1-px simplification would lose much of it
    mask = np.zeros((60, 60), bool)
    for x in range(4, 56):
        y = 10 + int(8 * np.sin(x / 3))
        mask[y : y + 2, x] = True
    mask |= np.roll(mask, 1, axis=1)
    shape = mask_to_shape(mask)
    assert shape_to_geometry(shape).is_valid
    assert iou(shape_to_mask(shape, 60, 60), mask) >= 0.95


def test_coordinates_are_in_original_pixels_for_offset_objects():
    mask = np.zeros((300, 400), bool)
    mask[200:260, 300:380] = True
    shape = mask_to_shape(mask)
    assert shape.bounds() == (300.0, 200.0, 380.0, 260.0)


def test_rle_conversions_round_trip():
    rng = np.random.default_rng(3)
    mask = smooth_blob(rng, 40)
    mask[20:24, 20:24] = False  # a hole
    rle = mask_to_rle(mask)
    assert isinstance(rle["counts"], str) and rle["size"] == list(mask.shape)
    assert np.array_equal(rle_to_mask(rle), mask)
    assert rle_area(rle) == mask.sum()
    shape = shape_from_rle(rle)  # exact by default
    assert np.array_equal(shape_to_mask(shape, *mask.shape), mask)
    assert shape_to_rle(shape, *mask.shape) == rle
    # uncompressed RLE (what COCO's crowd annotations use)
    uncompressed = {"size": list(mask.shape), "counts": _uncompressed_counts(mask)}
    assert np.array_equal(rle_to_mask(uncompressed), mask)
    assert rle_area(uncompressed) == mask.sum()


def _uncompressed_counts(mask: np.ndarray) -> list[int]:
    flat = mask.T.ravel().astype(np.int8)  # column-major, as COCO
    changes = np.flatnonzero(np.diff(np.concatenate([[0], flat, [1 - flat[-1]]])))
    return np.diff(np.concatenate([[0], changes])).tolist()[: len(changes)]


def test_coco_polygon_lists_round_trip():
    polygons = [[10.5, 10.0, 30.25, 10.0, 30.0, 25.0, 10.0, 25.0], [40, 40, 50, 40, 45, 50]]
    shape = shape_from_coco_polygons(polygons)
    assert len(shape.polygons) == 2
    assert shape_to_coco_polygons(shape) == [[float(v) for v in p] for p in polygons]
    assert shape_area(shape) == pytest.approx(
        sum(mask_utils.area(mask_utils.frPyObjects([p], 100, 100))[0] for p in polygons), rel=0.1
    )


def test_make_shape_valid_repairs_a_bow_tie():
    bow_tie = Shape((Polygon(np.array([[0, 0], [10, 10], [10, 0], [0, 10]], float)),))
    assert not shape_to_geometry(bow_tie).is_valid
    repaired = make_shape_valid(bow_tie)
    assert shape_to_geometry(repaired).is_valid and len(repaired.polygons) == 2
    assert shape_area(repaired) == pytest.approx(50.0)


def test_mask_to_shape_rejects_a_non_2d_mask():
    with pytest.raises(ValueError, match="2-D"):
        mask_to_shape(np.zeros((2, 3, 4), bool))
    assert isinstance(shape_to_geometry(Shape(())), MultiPolygon)


def test_rle_decoding_matches_pycocotools_without_decoding_the_image():
    rng = np.random.default_rng(11)
    for _ in range(80):
        h, w = (int(v) for v in rng.integers(1, 70, size=2))
        mask = rng.random((h, w)) < rng.uniform(0.05, 0.95)
        rle = mask_to_rle(mask)
        counts = rle_counts(rle)  # our vectorised reading of pycocotools' string format
        again = mask_utils.frPyObjects({"size": [h, w], "counts": counts.tolist()}, h, w)
        assert again["counts"].decode("ascii") == rle["counts"]
        assert rle_area(rle) == mask.sum()
        assert np.array_equal(shape_to_mask(shape_from_rle(rle), h, w), mask)
    # an object in the corner of a 12 MP image: long runs, large counts
    big = np.zeros((3000, 4000), bool)
    big[2900:, 3990:] = True
    big[2950, 3995] = False
    shape = shape_from_rle(mask_to_rle(big))
    assert shape.bounds() == (3990.0, 2900.0, 4000.0, 3000.0)
    assert shape_area(shape) == 1000 - 1 and shape.has_holes


def test_corrupt_rle_is_an_error():
    with pytest.raises(ValueError, match="truncated"):
        shape_from_rle({"size": [10, 10], "counts": "PP"})
    with pytest.raises(ValueError, match="add up"):
        shape_from_rle({"size": [10, 10], "counts": "12"})
    with pytest.raises(ValueError, match="alphabet"):
        shape_from_rle({"size": [10, 10], "counts": "1 2"})


def test_rle_of_valid_and_invalid_shapes_matches_the_pixelwise_rule():
    """Valid shapes take the single-call (bridged rings) route, others the part-by-part one;
    both must equal: union of parts, each minus its own holes, as pycocotools rasterises them."""
    rng = np.random.default_rng(21)

    def reference(shape, h, w):
        out = np.zeros((h, w), np.uint8)
        for p in shape.polygons:
            part = mask_utils.decode(mask_utils.frPyObjects([p.exterior.ravel().tolist()], h, w))[:, :, 0]
            for hole in p.holes:
                part &= 1 - mask_utils.decode(mask_utils.frPyObjects([hole.ravel().tolist()], h, w))[:, :, 0]
            out |= part
        return mask_to_rle(out.astype(bool))

    for _ in range(40):
        mask = smooth_blob(rng, int(rng.integers(20, 60)), grid=int(rng.integers(4, 9)))
        h, w = mask.shape
        for tolerance in (0, 1, 2):
            shape = mask_to_shape(mask, tolerance=tolerance, min_area=0)
            if not shape.is_empty():
                assert shape_to_rle(shape, h, w) == reference(shape, h, w)
    # overlapping parts and a shape reaching outside the image (an edited or imported object)
    overlapping = Shape(
        (
            Polygon(
                np.array([[2, 2], [20, 2], [20, 20], [2, 20]], float),
                (np.array([[5, 5], [10, 5], [10, 10], [5, 10]], float),),
            ),
            Polygon(np.array([[8, 8], [30, 8], [30, 30.5], [8, 30]], float)),
        )
    )
    assert not shape_to_geometry(overlapping).is_valid
    assert shape_to_rle(overlapping, 25, 28) == reference(overlapping, 25, 28)
