"""Track edits as values: a correction, undone by its inverse; the track records' own rules."""

from __future__ import annotations

import numpy as np
import pytest

from protolabel.segmentation.geometry.shapes import Polygon, Shape
from protolabel.segmentation.tracking.edits import correct
from protolabel.segmentation.tracking.tracks import Track, TrackFrame, TrackSet


def _square(x: float) -> Shape:
    return Shape((Polygon(np.array([[x, 0.0], [x + 4, 0], [x + 4, 4], [x, 4]])),))


def _set() -> TrackSet:
    one = Track(1, 0, tuple(TrackFrame(t, _square(t), 0.8) for t in range(0, 5)))
    two = Track(2, 1, tuple(TrackFrame(t, _square(50 + t), 0.7) for t in range(4, 9)))
    return TrackSet((20, 100), ("ball", "cube"), (one, two))


def _undo_restores(tracks: TrackSet, edit) -> TrackSet:
    after = edit.apply(tracks)
    back = edit.inverted().apply(after)
    assert back.ids == tracks.ids and all(back.get(i) is tracks.get(i) for i in tracks.ids)
    return after


def test_track_records_refuse_bad_values():
    with pytest.raises(ValueError, match="two shapes on one frame"):
        Track(1, 0, (TrackFrame(2, _square(0)), TrackFrame(2, _square(1))))
    with pytest.raises(ValueError, match="not unique"):
        TrackSet((20, 100), ("ball",), (Track(1, 0, ()), Track(1, 0, ())))
    with pytest.raises(ValueError, match="unknown provenance"):
        TrackFrame(0, _square(0), provenance="robot")


def test_length_and_reviewed_share():
    tracks = _set()
    tracks = correct(tracks, 1, 2, _square(9)).apply(tracks)
    assert tracks.get(1).length == 5 and tracks.get(1).reviewed_share == pytest.approx(1 / 5)
    assert Track(9, 0, ()).reviewed_share == 0.0
