"""Arc-length interpolation between two person-made outlines of a track."""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import Polygon as ShapelyPolygon

from protolabel.segmentation.geometry.shapes import Polygon, Shape
from protolabel.segmentation.tracking.edits import correct
from protolabel.segmentation.tracking.interpolation import (
    interpolate_shapes,
    interpolate_track,
    resample_ring,
)
from protolabel.segmentation.tracking.tracks import Track, TrackFrame, TrackSet

SQUARE = np.array([[0.0, 0], [10, 0], [10, 10], [0, 10]])


def _shape(ring: np.ndarray) -> Shape:
    return Shape((Polygon(ring),))


def _same_region(shape: Shape, ring: np.ndarray) -> bool:
    ours, expected = ShapelyPolygon(shape.polygons[0].exterior), ShapelyPolygon(ring)
    return ours.symmetric_difference(expected).area < 1e-6


def test_resampled_points_are_evenly_spaced_along_the_outline():
    points = resample_ring(SQUARE, 8)
    np.testing.assert_allclose(points, [[0, 0], [5, 0], [10, 0], [10, 5], [10, 10], [5, 10], [0, 10], [0, 5]])


@pytest.mark.parametrize("start_vertex", [0, 2])
@pytest.mark.parametrize("reverse", [False, True])
def test_a_translated_square_interpolates_to_the_square_halfway(start_vertex, reverse):
    moved = np.roll(SQUARE + [20, 4], -start_vertex, axis=0)
    if reverse:  # the other orientation and another start: alignment must undo both
        moved = moved[::-1]
    half = interpolate_shapes(_shape(SQUARE), _shape(moved), 0.5)
    assert _same_region(half, SQUARE + [10, 2])


def test_interpolation_fills_only_the_frames_between_two_persons_frames():
    auto = tuple(TrackFrame(t, _shape(SQUARE + [t, 0]), 0.9) for t in range(8))
    tracks = TrackSet((40, 60), ("ball",), (Track(1, 0, auto),))
    tracks = correct(tracks, 1, 1, _shape(SQUARE)).apply(tracks)
    tracks = correct(tracks, 1, 5, _shape(SQUARE + [40, 0])).apply(tracks)
    filled = interpolate_track(tracks, 1, 1, 5).apply(tracks).get(1)
    for t in (2, 3, 4):
        assert _same_region(filled.at(t).shape, SQUARE + [10 * (t - 1), 0])
        assert filled.at(t).provenance == "auto"
    assert filled.at(0) is tracks.get(1).at(0) and filled.at(6) is tracks.get(1).at(6)
    assert filled.at(5) is tracks.get(1).at(5)


def test_interpolation_refuses_what_it_cannot_do():
    tracks = TrackSet(
        (40, 60), ("ball",), (Track(1, 0, (TrackFrame(0, _shape(SQUARE)), TrackFrame(4, _shape(SQUARE)))),)
    )
    with pytest.raises(ValueError, match="needs a person's shape on frames 0 and 4"):
        interpolate_track(tracks, 1, 0, 4)
    two_parts = Shape((Polygon(SQUARE), Polygon(SQUARE + [30, 0])))
    tracks = correct(tracks, 1, 0, two_parts).apply(tracks)
    tracks = correct(tracks, 1, 4, _shape(SQUARE)).apply(tracks)
    with pytest.raises(ValueError, match="one outline without holes.*2 parts"):
        interpolate_track(tracks, 1, 0, 4)
    ring = Shape((Polygon(SQUARE * 3, (SQUARE + 10,)),))  # one part, a hole in it: counted in the singular
    tracks = correct(tracks, 1, 0, ring).apply(tracks)
    with pytest.raises(ValueError, match=r"frame 0 shape has 1 part with holes: propagate"):
        interpolate_track(tracks, 1, 0, 4)
    tracks = correct(tracks, 1, 2, _shape(SQUARE)).apply(tracks)
    with pytest.raises(ValueError, match=r"a person's shape on frame 2 between 0 and 4$"):
        interpolate_track(tracks, 1, 0, 4)
    with pytest.raises(ValueError, match="cannot be resampled"):
        resample_ring(SQUARE[:2], 8)
