"""The one "same object" rule: mask and outline IoU against pycocotools, and the threshold's strict side."""

from __future__ import annotations

import numpy as np
import pycocotools.mask as mask_utils
import pytest
from shapely.geometry import box

from protolabel.segmentation.geometry.overlap import (
    SAME_OBJECT_IOU,
    best_geometry_overlap,
    geometry_iou,
    is_same_object,
    mask_iou,
)


def _rect_mask(x0, y0, x1, y1, size=(40, 50)):
    mask = np.zeros(size, dtype=bool)
    mask[y0:y1, x0:x1] = True
    return mask


def test_mask_iou_agrees_with_pycocotools():
    a, b = _rect_mask(2, 3, 20, 25), _rect_mask(10, 5, 30, 35)
    rles = [mask_utils.encode(np.asfortranarray(m.astype(np.uint8))) for m in (a, b)]
    expected = mask_utils.iou([rles[0]], [rles[1]], [0])[0, 0]
    assert mask_iou(a, b) == pytest.approx(expected)
    empty = np.zeros((40, 50), dtype=bool)
    assert mask_iou(empty, empty) == 0.0 and mask_iou(empty, empty, if_empty=1.0) == 1.0


def test_outline_iou_equals_the_pixel_iou_of_the_same_rectangles():
    assert geometry_iou(box(2, 3, 20, 25), box(10, 5, 30, 35)) == pytest.approx(
        mask_iou(_rect_mask(2, 3, 20, 25), _rect_mask(10, 5, 30, 35))
    )
    assert geometry_iou(box(0, 0, 10, 10), box(10, 0, 20, 10)) == 0.0  # touching is no overlap


def test_same_object_is_strictly_above_the_threshold():
    assert SAME_OBJECT_IOU == 0.5
    half = geometry_iou(box(0, 0, 10, 10), box(0, 0, 10, 20))  # exactly 0.5
    assert half == 0.5 and not is_same_object(half)
    assert is_same_object(geometry_iou(box(0, 0, 10, 10), box(0, 0, 10, 19)))
    assert not is_same_object(0.6, threshold=0.7)


def test_best_overlap_names_the_most_overlapped_and_none_when_apart():
    others = [(1, box(0, 0, 10, 10)), (2, box(2, 2, 12, 12)), (3, box(50, 50, 60, 60))]
    assert best_geometry_overlap(box(3, 3, 12, 12), others) == (2, pytest.approx(81 / 100))
    assert best_geometry_overlap(box(30, 30, 40, 40), others) is None
