"""Detections joined into tracks on synthetic videos whose objects move with known motion."""

from __future__ import annotations

import numpy as np
import pytest

from protolabel.segmentation.geometry.overlap import mask_iou
from protolabel.segmentation.geometry.rasterise import shape_to_mask
from protolabel.segmentation.tracking.association import AssociationConfig, Tracker, cosine_similarity, track_video
from tests.segmentation.tracking.scenes import HEIGHT, WIDTH, MovingDisc, identity, scene


def _crossing(coefficient_a: np.ndarray, coefficient_b: np.ndarray) -> list[MovingDisc]:
    # A moves right, B left on the same row; on frame 5 they are 2 px apart (A left of B), on frame 6
    # they have passed: A's frame-5 mask overlaps B's frame-6 mask more than A's own (4 px away, not 6).
    return [
        MovingDisc((20, 32), (6, 0), 10, coefficient_a),
        MovingDisc((82, 32), (-6, 0), 10, coefficient_b),
    ]


def _id_of_object(tracks, objects, frames: int) -> list[list[int]]:
    """For each object, the id of the track whose shape on each frame is that object's mask (polygons are
    simplified, so "is" means IoU above 0.9; the two objects never overlap that much)."""
    out = []
    for obj in objects:
        ids = []
        for t in range(frames):
            truth = obj.mask(t)
            found = [
                track.track_id
                for track, item in tracks.on_frame(t)
                if mask_iou(shape_to_mask(item.shape, HEIGHT, WIDTH), truth) > 0.9
            ]
            assert len(found) == 1, f"frame {t}: {found}"
            ids.append(found[0])
        out.append(ids)
    return out


def test_crossing_objects_keep_their_ids():
    objects = _crossing(identity(0), identity(1))
    tracks = track_video(scene(objects, 11))
    assert len(tracks.tracks) == 2
    ids = _id_of_object(tracks, objects, 11)
    assert len(set(ids[0])) == 1 and len(set(ids[1])) == 1 and ids[0][0] != ids[1][0]
    assert all(t.first == 0 and t.last == 10 for t in tracks.tracks)


def test_without_the_coefficient_term_the_crossing_swaps_ids():
    # The oracle for the test above: the motion is built so that IoU alone prefers the wrong object.
    objects = _crossing(identity(0), identity(1))
    tracks = track_video(scene(objects, 11), AssociationConfig(coefficient_weight=0.0, min_similarity=-1.0))
    ids = _id_of_object(tracks, objects, 11)
    assert ids[0][5] != ids[0][6]


def test_noisy_coefficients_still_keep_ids():
    rng = np.random.default_rng(3)
    objects = _crossing(identity(0), identity(1))
    frames = scene(objects, 11)
    noisy = []
    for det in frames:
        coefficients = det.coefficients + rng.normal(0, 0.1, det.coefficients.shape).astype(np.float32)
        noisy.append(
            type(det)(**{**{f: getattr(det, f) for f in det.__dataclass_fields__}, "coefficients": coefficients})
        )
    ids = _id_of_object(track_video(noisy), objects, 11)
    assert len(set(ids[0])) == 1 and len(set(ids[1])) == 1


def test_short_miss_continues_the_track_and_long_one_ends_it():
    disc = MovingDisc((20, 32), (2, 0), 10, identity(2))
    short = track_video(scene([disc], 12, hidden={0: {4, 5}}), AssociationConfig(max_missed=3))
    assert len(short.tracks) == 1 and 4 not in short.tracks[0].frame_indices
    long = track_video(scene([disc], 12, hidden={0: {4, 5, 6, 7}}), AssociationConfig(max_missed=3))
    assert [(t.first, t.last) for t in long.tracks] == [(0, 3), (8, 11)]


def test_new_object_starts_a_track_and_classes_do_not_mix():
    a = MovingDisc((20, 20), (1, 0), 8, identity(0), class_index=0)
    b = MovingDisc((20, 20), (1, 0), 8, identity(0), class_index=1)  # same place and coefficients, other class
    tracks = track_video(scene([a, b], 6, hidden={1: {0, 1, 2}}))
    assert [(t.class_index, t.first, t.last) for t in tracks.tracks] == [(0, 0, 5), (1, 3, 5)]


def test_scores_provenance_and_coefficients_are_kept():
    disc = MovingDisc((20, 32), (2, 0), 10, identity(4))
    track = track_video(scene([disc], 3)).tracks[0]
    assert [f.provenance for f in track.frames] == ["auto"] * 3
    assert track.score == pytest.approx(0.9)
    np.testing.assert_allclose(track.frames[1].coefficients, identity(4))


def test_frames_out_of_order_and_other_sizes_are_refused():
    frames = scene([MovingDisc((20, 32), (2, 0), 10, identity(0))], 2)
    tracker = Tracker()
    tracker.update(1, frames[1])
    with pytest.raises(ValueError, match="increasing order"):
        tracker.update(1, frames[0])
    with pytest.raises(ValueError, match="no frames"):
        Tracker().tracks()


def test_cosine_similarity_of_zero_rows_is_zero():
    sim = cosine_similarity(np.array([[1.0, 0.0], [0.0, 0.0]]), np.array([[2.0, 0.0], [0.0, -1.0]]))
    np.testing.assert_allclose(sim, [[1.0, 0.0], [0.0, 0.0]])


def test_frames_from_another_model_are_refused():
    disc = MovingDisc((20, 32), (2, 0), 10, identity(0))
    frames = scene([disc], 2)
    other = type(frames[1])(
        **{**{f: getattr(frames[1], f) for f in frames[1].__dataclass_fields__}, "coefficients": np.zeros((1, 4))}
    )
    tracker = Tracker()
    tracker.update(0, frames[0])
    with pytest.raises(ValueError, match="every frame must come from one model"):
        tracker.update(1, other)
