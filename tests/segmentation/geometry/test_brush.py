"""Brush/eraser strokes and whole-shape operations, checked against shapely distances and pycocotools rasters."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point

from protolabel.segmentation.geometry.brush import BrushStroke, apply_stroke
from protolabel.segmentation.geometry.combine import (
    clip_shape,
    ellipse_shape,
    merge_shapes,
    rectangle_shape,
    split_shape,
)
from protolabel.segmentation.geometry.measures import shape_area
from protolabel.segmentation.geometry.rasterise import shape_to_mask
from protolabel.segmentation.geometry.shapes import Polygon, Shape

H, W = 120, 160


def disc_stroke_oracle(points, radius, height=H, width=W) -> np.ndarray:
    """Pixels whose centre lies within `radius` of the path, by shapely's own distance (independent of brush.py)."""
    path = Point(points[0]) if len(points) == 1 else LineString(points)
    rows, cols = np.mgrid[0:height, 0:width]
    centres = shapely.points(cols.ravel() + 0.5, rows.ravel() + 0.5)
    return (shapely.distance(centres, path) <= radius).reshape(height, width)


def painted(points, radius, height=H, width=W) -> BrushStroke:
    stroke = BrushStroke(radius, (width, height))
    for x, y in points:
        stroke.add_point(x, y)
    return stroke


def full_mask(stroke: BrushStroke, height=H, width=W) -> np.ndarray:
    mask = np.zeros((height, width), bool)
    x0, y0, x1, y1 = stroke.box
    mask[y0:y1, x0:x1] = stroke.mask
    return mask


def box(x0, y0, x1, y1) -> Shape:
    return rectangle_shape(x0, y0, x1, y1)


@pytest.mark.parametrize("radius", [1.0, 2.5, 7.0, 12.3])
def test_stroke_paints_the_pixels_within_radius_of_the_path(radius):
    points = [(20.3, 30.7), (60.1, 35.2), (61.0, 90.4), (130.6, 20.9)]
    stroke = painted(points, radius)
    assert np.array_equal(full_mask(stroke), disc_stroke_oracle(points, radius))


def test_a_click_paints_a_disc_and_strokes_are_clipped_to_the_image():
    assert np.array_equal(full_mask(painted([(50.2, 40.6)], 6.0)), disc_stroke_oracle([(50.2, 40.6)], 6.0))
    points = [(-15.0, -10.0), (10.0, 60.0), (W + 20.0, H + 5.0)]
    stroke = painted(points, 9.0)
    assert stroke.box[0] >= 0 and stroke.box[1] >= 0 and stroke.box[2] <= W and stroke.box[3] <= H
    assert np.array_equal(full_mask(stroke), disc_stroke_oracle(points, 9.0))


def test_stroke_shape_rasterises_back_to_the_painted_pixels():
    points = [(20.0, 20.0), (100.0, 80.0), (30.0, 100.0), (25.0, 25.0)]  # a loop: the shape has a hole
    stroke = painted(points, 5.0)
    shape = stroke.shape()
    assert shape.has_holes
    assert np.array_equal(shape_to_mask(shape, H, W), full_mask(stroke))


def test_brush_adds_exactly_the_painted_pixels():
    before = box(40, 40, 100, 90)
    points = [(90.4, 60.2), (130.7, 65.9), (140.2, 100.3)]
    after = apply_stroke(before, painted(points, 6.5), erase=False)
    expected = shape_to_mask(before, H, W) | disc_stroke_oracle(points, 6.5)
    assert np.array_equal(shape_to_mask(after, H, W), expected)
    assert len(after.polygons) == 1  # the stroke touches the object: still one part


def test_brush_fills_a_hole_and_a_separate_stroke_adds_a_part():
    ring = np.array([[20, 20], [120, 20], [120, 100], [20, 100]], float)
    hole = np.array([[60, 50], [60, 70], [80, 70], [80, 50]], float)
    holed = Shape((Polygon(ring, (hole,)),))
    filled = apply_stroke(holed, painted([(62.0, 60.0), (78.0, 60.0)], 12.0), erase=False)
    assert not filled.has_holes
    assert np.array_equal(shape_to_mask(filled, H, W), shape_to_mask(box(20, 20, 120, 100), H, W))
    two = apply_stroke(box(10, 10, 40, 40), painted([(100.0, 80.0)], 8.0), erase=False)
    assert len(two.polygons) == 2


def test_eraser_across_an_object_cuts_it_in_two_parts():
    before = box(20, 30, 140, 90)
    points = [(80.3, 10.0), (79.6, 110.0)]
    after = apply_stroke(before, painted(points, 5.0), erase=True)
    assert len(after.polygons) == 2
    expected = shape_to_mask(before, H, W) & ~disc_stroke_oracle(points, 5.0)
    assert np.array_equal(shape_to_mask(after, H, W), expected)
    assert [len(p.polygons) for p in split_shape(after)] == [1, 1]


def test_eraser_inside_makes_a_hole_outside_changes_nothing_and_everything_leaves_nothing():
    before = box(20, 20, 120, 100)
    holed = apply_stroke(before, painted([(70.0, 60.0)], 10.0), erase=True)
    assert holed.has_holes
    assert np.array_equal(shape_to_mask(holed, H, W), shape_to_mask(before, H, W) & ~disc_stroke_oracle([(70, 60)], 10))
    untouched = apply_stroke(before, painted([(150.0, 110.0)], 3.0), erase=True)
    assert np.array_equal(shape_to_mask(untouched, H, W), shape_to_mask(before, H, W))
    gone = apply_stroke(box(50, 50, 60, 60), painted([(55.0, 55.0)], 20.0), erase=True)
    assert gone.is_empty()


def test_new_object_from_a_stroke_and_an_eraser_without_object():
    points = [(30.0, 30.0), (60.0, 40.0)]
    shape = apply_stroke(None, painted(points, 4.0), erase=False)
    assert np.array_equal(shape_to_mask(shape, H, W), disc_stroke_oracle(points, 4.0))
    assert apply_stroke(None, painted(points, 4.0), erase=True).is_empty()


def test_the_mask_grows_with_a_long_stroke_and_keeps_earlier_pixels():
    stroke = BrushStroke(3.0, (800, 300))  # wider than the growth margin, so the mask is reallocated
    points = [(10.0, 10.0), (15.0, 12.0), (700.0, 280.0), (780.0, 20.0)]
    for x, y in points:
        stroke.add_point(x, y)
    x0, y0, x1, y1 = stroke.box
    assert x0 <= 7 and y0 <= 7 and x1 >= 783 and y1 >= 283
    assert np.array_equal(full_mask(stroke, 300, 800), disc_stroke_oracle(points, 3.0, 300, 800))


def test_bad_radius_is_refused():
    with pytest.raises(ValueError, match="radius"):
        BrushStroke(0, (10, 10))


def test_merge_unites_overlaps_and_keeps_separate_parts():
    a, b, c = box(10, 10, 50, 50), box(40, 40, 80, 80), box(100, 10, 120, 30)
    merged = merge_shapes([a, b, c])
    assert len(merged.polygons) == 2
    expected = shape_to_mask(a, H, W) | shape_to_mask(b, H, W) | shape_to_mask(c, H, W)
    assert np.array_equal(shape_to_mask(merged, H, W), expected)
    assert shape_area(merged) == pytest.approx(40 * 40 * 2 - 10 * 10 + 20 * 20)


def test_split_gives_one_shape_per_part_with_its_holes():
    hole = np.array([[20, 20], [20, 30], [30, 30], [30, 20]], float)
    shape = Shape((Polygon(box(10, 10, 50, 50).polygons[0].exterior, (hole,)), box(60, 60, 70, 70).polygons[0]))
    parts = split_shape(shape)
    assert [len(p.polygons) for p in parts] == [1, 1] and parts[0].has_holes and not parts[1].has_holes
    assert np.array_equal(shape_to_mask(parts[0], H, W) | shape_to_mask(parts[1], H, W), shape_to_mask(shape, H, W))


def test_clip_keeps_the_part_inside_the_image():
    inside = box(10, 10, 30, 30)
    assert clip_shape(inside, W, H) is inside
    clipped = clip_shape(box(140, 100, 200, 150), W, H)
    assert clipped.bounds() == (140.0, 100.0, W, H)
    assert clip_shape(box(200, 200, 220, 220), W, H).is_empty()


def test_rectangle_and_ellipse_shapes():
    rect = rectangle_shape(50, 40, 10, 20)
    assert len(rect.polygons[0].exterior) == 4 and rect.bounds() == (10, 20, 50, 40)
    ellipse = ellipse_shape(10, 20, 110, 80)
    assert shape_area(ellipse) == pytest.approx(np.pi * 50 * 30, rel=0.01)
    ex = ellipse.polygons[0].exterior
    assert np.allclose(((ex[:, 0] - 60) / 50) ** 2 + ((ex[:, 1] - 50) / 30) ** 2, 1.0)
