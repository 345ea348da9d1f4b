"""Rasterisation is pycocotools' own, pixel for pixel, for non-integer vertices too.

pycocotools rounds each vertex as (int)(5 * x + 0.5), which is not shift-invariant in floating
point: rasterising a crop shifted by its box origin gave other pixels for labelme-style
1-decimal polygons. The oracle here is pycocotools on the polygon as COCO stores it.
"""

from __future__ import annotations

import numpy as np
import pycocotools.mask as mask_utils
import pytest

from protolabel.segmentation.geometry.polygons import shape_to_mask, shape_to_mask_crop, shape_to_rle
from protolabel.segmentation.geometry.rle import rle_to_mask, rle_window
from protolabel.segmentation.geometry.shapes import Polygon, Shape

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def _coco_mask(rings: list[np.ndarray], height: int, width: int) -> np.ndarray:
    """pycocotools' union of polygon lists (what COCO tools decode for a polygon annotation)."""
    rles = mask_utils.frPyObjects([r.ravel().tolist() for r in rings], height, width)
    return mask_utils.decode(mask_utils.merge(rles)).astype(bool)


def _random_polygons(seed: int, count: int):
    """Star-shaped polygons with 1-decimal vertices (as labelme writes them), some crossing the border."""
    rng = np.random.default_rng(seed)
    for _ in range(count):
        height, width = (int(v) for v in rng.integers(40, 400, size=2))
        parts = []
        for _ in range(int(rng.integers(1, 3))):
            n = int(rng.integers(3, 25))
            centre = rng.uniform([-10, -10], [width + 10, height + 10])
            radius = rng.uniform(2, 0.5 * min(width, height), size=n)
            angle = np.sort(rng.uniform(0, 2 * np.pi, size=n))
            ring = centre + np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
            parts.append(np.round(ring, 1))
        yield parts, height, width


def test_300_random_one_decimal_polygons_are_pixel_identical_to_pycocotools():
    differing = 0
    for parts, height, width in _random_polygons(seed=9, count=300):
        shape = Shape(tuple(Polygon(ring) for ring in parts))
        expected = _coco_mask(parts, height, width)
        differing += not np.array_equal(shape_to_mask(shape, height, width), expected)
        differing += not np.array_equal(rle_to_mask(shape_to_rle(shape, height, width)), expected)
    assert differing == 0


def test_crop_is_the_same_pixels_as_the_full_mask():
    for parts, height, width in _random_polygons(seed=4, count=100):
        shape = Shape(tuple(Polygon(ring) for ring in parts))
        expected = _coco_mask(parts, height, width)
        rng = np.random.default_rng(height * width)
        x0, x1 = sorted(int(v) for v in rng.integers(0, width + 1, size=2))
        y0, y1 = sorted(int(v) for v in rng.integers(0, height + 1, size=2))
        crop = shape_to_mask_crop(shape, height, width, (x0, y0, x1, y1))
        assert np.array_equal(crop, expected[y0:y1, x0:x1])


def test_the_shift_that_used_to_differ():
    """12.1 is the issue's example: 5 * 12.1 rounds to 60.5 -> 61, 5 * 2.1 (shifted by 10) to 10.999... -> 10."""
    ring = np.array([[12.1, 12.1], [30.3, 12.1], [30.3, 29.7], [12.1, 29.7]])
    expected = _coco_mask([ring], 40, 40)
    assert np.array_equal(shape_to_mask(Shape((Polygon(ring),)), 40, 40), expected)


def test_hole_is_cut_with_pycocotools_pixels():
    outer = np.array([[5.3, 4.7], [60.1, 6.2], [58.8, 55.5], [3.9, 52.1]])
    hole = np.array([[20.1, 20.3], [35.7, 20.1], [35.1, 36.9], [20.3, 35.5]])
    shape = Shape((Polygon(outer, (hole,)),))
    expected = _coco_mask([outer], 64, 64) & ~_coco_mask([hole], 64, 64)
    assert np.array_equal(shape_to_mask(shape, 64, 64), expected)
    assert np.array_equal(shape_to_mask_crop(shape, 64, 64, (10, 10, 50, 40)), expected[10:40, 10:50])


def test_rle_window_matches_decoding_the_whole_mask():
    rng = np.random.default_rng(3)
    for _ in range(50):
        height, width = (int(v) for v in rng.integers(1, 30, size=2))
        mask = rng.random((height, width)) < rng.uniform(0, 1)
        if rng.random() < 0.3:
            mask[:, :] = rng.random() < 0.5  # all or nothing: runs spanning whole columns
        rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
        x0, x1 = sorted(int(v) for v in rng.integers(0, width + 1, size=2))
        y0, y1 = sorted(int(v) for v in rng.integers(0, height + 1, size=2))
        assert np.array_equal(rle_window(rle, x0, y0, x1, y1), mask[y0:y1, x0:x1])


def test_crop_outside_the_image_is_an_error():
    shape = Shape((Polygon(np.array([[1.0, 1.0], [5.0, 1.0], [5.0, 5.0]])),))
    with pytest.raises(ValueError, match="not inside"):
        shape_to_mask_crop(shape, 10, 10, (0, 0, 11, 10))
