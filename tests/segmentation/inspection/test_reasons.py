"""Why a detection is no object: each auto-label rule named, checked in the order auto-labeling applies them."""

from __future__ import annotations

import numpy as np
import pytest

from protolabel.segmentation.geometry.rasterise import shape_to_mask
from protolabel.segmentation.geometry.shapes import Polygon, Shape
from protolabel.segmentation.inspection.assembly import mask_stages
from protolabel.segmentation.inspection.reasons import detection_shape, not_kept_reason


def _keep_all(name):
    return name


def _reason(record, row, objects=(), label_for=_keep_all, threshold=0.3):
    return not_kept_reason(
        record, row, list(objects), label_for=label_for, score_threshold=threshold, duplicate_iou=0.5, tolerance=0
    )


def _box(x0, y0, x1, y1) -> Shape:
    return Shape((Polygon(np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)),))


def test_detection_shape_is_the_models_mask(record):
    expected = mask_stages(record.prototypes, record.coefficients[1], record.boxes_rel[1], record.frame_size).final
    np.testing.assert_array_equal(shape_to_mask(detection_shape(record, 1, tolerance=0), 60, 80), expected)


def test_each_rule_is_named(record):
    assert _reason(record, 1) == "matches no object"
    assert (
        _reason(record, 1, label_for=lambda name: None if name == "dog" else name)
        == 'class "dog" is filtered out (Class Filter and Mapping)'
    )
    assert _reason(record, 1, threshold=0.7) == "score 0.70 is not above the threshold 0.70"
    # an object drawn over detection 1's disc: its IoU with the detection's mask, counted in pixels
    mask = shape_to_mask(detection_shape(record, 1, tolerance=0), 60, 80)
    ys, xs = np.nonzero(mask)
    same = _box(xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    box_mask = shape_to_mask(same, 60, 80)
    iou = (mask & box_mask).sum() / (mask | box_mask).sum()
    assert iou > 0.5
    reason = _reason(record, 1, [(7, _box(0, 0, 5, 5)), (9, same)])
    assert reason.startswith("duplicate of object 9 (IoU ") and float(reason[-5:-1]) == pytest.approx(iou, abs=0.03)
    # overlapping too little to be the same object
    cx, cy = int(xs.mean()), int(ys.mean())
    small = _box(cx, cy, cx + 3, cy + 3)
    assert _reason(record, 1, [(4, small)]).startswith("matches no object (best: object 4, IoU 0.")


def test_an_empty_mask_is_named(record):
    coefficients = record.coefficients.copy()
    coefficients[1] = -1.0  # everything below zero: sigmoid < 0.5 everywhere
    from dataclasses import replace

    emptied = replace(record, coefficients=coefficients)
    assert _reason(emptied, 1) == "mask empty or only specks"


def test_prepared_geometries_give_the_same_reason(record):
    from protolabel.segmentation.inspection.reasons import object_geometries

    mask = shape_to_mask(detection_shape(record, 1, tolerance=0), 60, 80)
    ys, xs = np.nonzero(mask)
    objects = [(3, Shape(())), (9, _box(xs.min(), ys.min(), xs.max() + 1, ys.max() + 1))]
    assert [i for i, _ in object_geometries(objects)] == [9]  # an empty shape is no object to compare with
    assert _reason(record, 1, object_geometries(objects)) == _reason(record, 1, objects)
