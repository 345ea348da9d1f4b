"""Track edits as values: merge, split, delete, re-class, each undone by its inverse."""

from __future__ import annotations

import numpy as np
import pytest

from protolabel.segmentation.geometry.shapes import Polygon, Shape
from protolabel.segmentation.tracking.edits import correct, delete, merge, reclass, split
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


def test_merge_joins_frames_and_prefers_the_kept_tracks_model_shapes():
    tracks = _set()
    merged = _undo_restores(tracks, merge(tracks, 1, 2)).get(1)
    assert merged.frame_indices == tuple(range(9)) and merged.class_index == 0
    assert merged.at(4) is tracks.get(1).at(4)


def test_merge_keeps_a_persons_shape_and_refuses_two():
    tracks = _set()
    tracks = correct(tracks, 2, 4, _square(70)).apply(tracks)
    merged = merge(tracks, 1, 2).apply(tracks)
    assert merged.ids == (1,) and merged.get(1).at(4).person_made
    both = correct(tracks, 1, 4, _square(60)).apply(tracks)
    with pytest.raises(ValueError, match="both have a person's shape on frame 4"):
        merge(both, 1, 2)
    with pytest.raises(ValueError, match="with itself"):
        merge(tracks, 1, 1)


def test_split_at_a_frame_makes_a_new_track():
    tracks = _set()
    after = _undo_restores(tracks, split(tracks, 1, 3))
    assert after.get(1).frame_indices == (0, 1, 2) and after.get(3).frame_indices == (3, 4)
    assert after.get(3).class_index == 0
    with pytest.raises(ValueError, match="leaves one part empty"):
        split(tracks, 1, 0)


def test_delete_whole_or_from_a_frame_on():
    tracks = _set()
    assert _undo_restores(tracks, delete(tracks, 2)).ids == (1,)
    assert _undo_restores(tracks, delete(tracks, 2, from_frame=6)).get(2).frame_indices == (4, 5)
    assert delete(tracks, 2, from_frame=0).apply(tracks).ids == (1,)
    with pytest.raises(KeyError, match="no track 7"):
        delete(tracks, 7)


def test_reclass_a_whole_track():
    tracks = _set()
    assert _undo_restores(tracks, reclass(tracks, 1, 1)).get(1).class_index == 1
    with pytest.raises(ValueError, match="outside 0..1"):
        reclass(tracks, 1, 2)


def test_an_edit_on_tracks_changed_since_is_refused():
    tracks = _set()
    edit = reclass(tracks, 1, 1)
    changed = delete(tracks, 1, from_frame=2).apply(tracks)
    with pytest.raises(ValueError, match="changed since"):
        edit.apply(changed)


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
