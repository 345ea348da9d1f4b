"""A person's correction carried along its track by re-detecting, stopping at the track's person-made frames."""

from __future__ import annotations

import numpy as np
import pytest

from protolabel.segmentation.geometry.outlines import mask_to_shape
from protolabel.segmentation.geometry.overlap import mask_iou
from protolabel.segmentation.geometry.rasterise import shape_to_mask
from protolabel.segmentation.geometry.shapes import Polygon, Shape
from protolabel.segmentation.tracking.association import AssociationConfig, track_video
from protolabel.segmentation.tracking.edits import correct
from protolabel.segmentation.tracking.propagation import propagate, propagation_range
from protolabel.segmentation.tracking.tracks import Track, TrackFrame
from tests.segmentation.tracking.scenes import HEIGHT, WIDTH, MovingDisc, detector, identity, scene

FRAMES = 11
IOU_ONLY = AssociationConfig(coefficient_weight=0.0, min_similarity=-1.0)


def _objects() -> list[MovingDisc]:
    # as in test_association: IoU alone swaps the two tracks between frames 5 and 6
    return [MovingDisc((20, 32), (6, 0), 10, identity(0)), MovingDisc((82, 32), (-6, 0), 10, identity(1))]


def _follows(track: Track, obj: MovingDisc, frames) -> bool:
    return all(
        track.at(t) is not None and mask_iou(shape_to_mask(track.at(t).shape, HEIGHT, WIDTH), obj.mask(t)) > 0.9
        for t in frames
    )


def _swapped():
    objects = _objects()
    frames = scene(objects, FRAMES)
    tracks = track_video(frames, IOU_ONLY)
    track_a = next(t for t in tracks.tracks if _follows(t, objects[0], range(6)))
    assert _follows(track_a, objects[1], range(6, FRAMES))  # the mistake a person corrects
    return objects, frames, tracks, track_a.track_id


def test_correction_propagates_forward_and_backward():
    objects, frames, tracks, a = _swapped()
    tracks = correct(tracks, a, 6, mask_to_shape(objects[0].mask(6))).apply(tracks)
    result = propagate(tracks, a, 6, detector(frames), FRAMES)
    fixed = result.edit.apply(tracks).get(a)
    assert _follows(fixed, objects[0], range(FRAMES))
    assert fixed.person_frames == (6,)
    assert result.updated == (0, 1, 2, 3, 4, 5, 7, 8, 9, 10) and result.cleared == () and result.stopped == ()
    assert all(f.coefficients is not None for f in fixed.frames if f.frame != 6)


def test_person_made_frames_are_never_overwritten():
    objects, frames, tracks, a = _swapped()
    square = Shape((Polygon(np.array([[100.0, 5], [110, 5], [110, 15], [100, 15]])),))
    tracks = correct(tracks, a, 9, square).apply(tracks)
    tracks = correct(tracks, a, 6, mask_to_shape(objects[0].mask(6))).apply(tracks)
    assert propagation_range(tracks.get(a), 6, FRAMES) == (range(7, 9), range(5, -1, -1))
    result = propagate(tracks, a, 6, detector(frames), FRAMES)
    fixed = result.edit.apply(tracks).get(a)
    assert fixed.at(9) is tracks.get(a).at(9)
    assert _follows(fixed, objects[0], [7, 8])
    assert fixed.at(10) is tracks.get(a).at(10)  # beyond the person's frame: untouched (still the wrong object)


def test_lost_object_clears_frames_then_stops():
    objects = _objects()
    frames = scene(objects, FRAMES, hidden={0: {7, 8, 9, 10}})
    tracks = track_video(scene(objects, FRAMES))
    a = next(t for t in tracks.tracks if _follows(t, objects[0], [0])).track_id
    tracks = correct(tracks, a, 6, mask_to_shape(objects[0].mask(6))).apply(tracks)
    result = propagate(tracks, a, 6, detector(frames), FRAMES, AssociationConfig(max_missed=1))
    assert result.cleared == (7, 8) and result.stopped == (8,)
    fixed = result.edit.apply(tracks).get(a)
    assert fixed.at(9) is tracks.get(a).at(9)


def test_another_tracks_person_shape_is_not_taken():
    objects = _objects()
    frames = scene(objects, FRAMES)
    tracks = track_video(frames)
    a = next(t for t in tracks.tracks if _follows(t, objects[0], [0])).track_id
    b = next(t for t in tracks.tracks if t.track_id != a).track_id
    # B's track is corrected by a person on frame 8 to object A's disc: A's own propagation must skip it there
    tracks = correct(tracks, b, 8, mask_to_shape(objects[0].mask(8))).apply(tracks)
    result = propagate(tracks, a, 0, detector(frames), FRAMES, AssociationConfig(max_missed=5))
    assert 8 in result.cleared and _follows(result.edit.apply(tracks).get(a), objects[0], [7, 9, 10])


def test_undo_restores_the_tracks():
    objects, frames, tracks, a = _swapped()
    result = propagate(tracks, a, 6, detector(frames), FRAMES)
    after = result.edit.apply(tracks)
    restored = result.edit.inverted().apply(after)
    assert restored.get(a) is tracks.get(a)


def test_propagating_a_frame_the_track_lacks_is_refused():
    objects, frames, tracks, a = _swapped()
    track = tracks.get(a).with_frames([f for f in tracks.get(a).frames if f.frame != 3])
    tracks = tracks.replacing(track)
    with pytest.raises(ValueError, match="no shape on frame 3"):
        propagate(tracks, a, 3, detector(frames), FRAMES)
    with pytest.raises(ValueError, match="outside the video's 5 frames"):
        propagate(tracks, a, 6, detector(frames), 5)


def test_a_correction_is_a_persons_keyframe():
    objects, frames, tracks, a = _swapped()
    edit = correct(tracks, a, 2, mask_to_shape(objects[0].mask(2)))
    assert edit.apply(tracks).get(a).person_frames == (2,)
    with pytest.raises(ValueError, match="cannot be 'auto'"):
        correct(tracks, a, 2, mask_to_shape(objects[0].mask(2)), provenance="auto")
    assert isinstance(tracks.get(a).at(2), TrackFrame)


def test_detections_of_another_frame_size_are_refused():
    objects, frames, tracks, a = _swapped()
    small = scene(objects, 1)[0]
    other = type(small)(
        **{
            **{f: getattr(small, f) for f in small.__dataclass_fields__},
            "image_size": (HEIGHT, WIDTH + 8),
            "masks": np.zeros((2, HEIGHT, WIDTH + 8), bool),
        }
    )
    with pytest.raises(ValueError, match="frame 7's detections are of a"):
        propagate(tracks, a, 6, lambda index: other if index == 7 else frames[index], FRAMES)
