"""A stored track's correction propagated (and interpolated) by re-detecting, written as one undoable store edit."""

from __future__ import annotations

import hashlib
import sqlite3
from contextlib import closing

import numpy as np
import pytest

from protolabel.segmentation.geometry.outlines import mask_to_shape
from protolabel.segmentation.geometry.overlap import mask_iou
from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.geometry.rasterise import shape_to_mask
from protolabel.segmentation.geometry.shapes import Polygon, Shape
from protolabel.segmentation.project.labels import ClassMapping
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus, shape_from_json
from protolabel.segmentation.project.store import ProjectStoreError, StaleEditError, project_db_path
from protolabel.segmentation.project.track_propagation import (
    FrameDetector,
    PropagationCancelled,
    interpolate_stored,
    interpolation_span,
    propagate_stored,
    read_stored_track,
    summary,
)
from protolabel.segmentation.project.video_store import VideoStore
from tests.segmentation.project.test_video_store import content, rows
from tests.segmentation.tracking.scenes import HEIGHT, WIDTH, MovingDisc, identity, scene

FRAMES = 11
AUTO, EDITED = Provenance.AUTO, Provenance.EDITED


def discs() -> list[MovingDisc]:
    """Two discs that cross between frames 5 and 6 (as in tests/segmentation/tracking/test_propagation.py)."""
    return [MovingDisc((20, 32), (6, 0), 10, identity(0)), MovingDisc((82, 32), (-6, 0), 10, identity(1))]


def square(x: float, y: float, size: float = 10.0) -> Shape:
    return Shape((Polygon(np.array([[x, y], [x + size, y], [x + size, y + size], [x, y + size]])),))


@pytest.fixture
def swapped(tmp_path):
    """A clip whose tracker swapped two balls at frame 6: track A follows disc 0 to frame 5 then disc 1 (it has no
    object on frame 2); track B the other way round. A person corrected A on frame 6 and drew it on frame 9."""
    objects = discs()
    store = VideoStore.open(tmp_path)
    video = store.add_video(
        "clip.mp4",
        sha256=hashlib.sha256(b"clip").hexdigest(),
        frame_count=FRAMES,
        width=WIDTH,
        height=HEIGHT,
        size_bytes=1,
        time_base="1/30",
    )
    keys = store.add_frames(video.id, {i: i for i in range(FRAMES)})
    a = store.create_track(video.id, "ball").tracks_after[0].id
    b = store.create_track(video.id, "ball").tracks_after[0].id
    for i in range(FRAMES):
        first, second = (objects[0], objects[1]) if i < 6 else (objects[1], objects[0])
        saved = [AnnotatedObject("ball", mask_to_shape(second.mask(i)), AUTO, 0.8, track_id=b)]
        if i != 2:
            saved.append(AnnotatedObject("ball", mask_to_shape(first.mask(i)), AUTO, 0.9, track_id=a))
        store.write_change(keys[i], saved=saved, status=ImageStatus.AUTO_LABELED)
    store.set_frame_status(keys[2], ImageStatus.UNLABELED)  # as if the run stopped short of it
    for i, shape in ((6, mask_to_shape(objects[0].mask(6))), (9, square(100, 5))):
        (obj,) = [o for o in store.frame_objects(keys[i]) if o.track_id == a]
        store.write_change(keys[i], saved=[obj.with_changes(shape=shape, provenance=EDITED)], status=ImageStatus.EDITED)
    yield store, keys, a, b, objects
    store.close()


def detector(frames, **options) -> FrameDetector:
    """The scene's detections for a frame through FrameDetector (the pixels read are the frame's index)."""
    return FrameDetector(
        lambda index: np.full((1, 1), index),
        lambda image: frames[int(image[0, 0])],
        ClassMapping(),
        ("ball",),
        **options,
    )


def track_shape(store: VideoStore, track: int, index: int) -> Shape | None:
    found = [o.object for o in store.track_objects(track) if o.frame_index == index]
    assert len(found) <= 1
    return found[0].shape if found else None


def follows(store, track, disc, frames) -> bool:
    return all(
        (shape := track_shape(store, track, t)) is not None
        and mask_iou(shape_to_mask(shape, HEIGHT, WIDTH), disc.mask(t)) > 0.9
        for t in frames
    )


def test_a_correction_propagates_both_ways_up_to_the_next_person_made_frame_and_undoes(swapped, tmp_path):
    store, keys, a, _b, objects = swapped
    before, person = content(tmp_path), [o for o in store.track_objects(a) if o.frame_index in (6, 9)]
    run = propagate_stored(read_stored_track(store, "clip.mp4", a), 6, detector(scene(objects, FRAMES)))
    assert sorted(run.shapes) == [0, 1, 2, 3, 4, 5, 7, 8]  # not onto frame 9 (a person's), nor past it
    edit = run.write(store)
    assert follows(store, a, objects[0], [0, 1, 2, 3, 4, 5, 6, 7, 8])  # frame 2 got an object it lacked
    assert [o for o in store.track_objects(a) if o.frame_index in (6, 9)] == person  # a person's frames untouched
    assert track_shape(store, a, 10) is not None and follows(store, a, objects[1], [10])  # past frame 9: as it was
    assert store.status(keys[2]) is ImageStatus.AUTO_LABELED
    assert summary(run, edit) == (
        "Track 1: 8 frames updated, swapped back with track 2 on 2 frames, track 2's copy removed on 1 frame"
    )

    store.apply_track_edit(edit.inverted())  # the undo gives every row back: no object left on frame 2
    assert content(tmp_path) == before and track_shape(store, a, 2) is None
    assert store.status(keys[2]) is ImageStatus.UNLABELED


def test_the_track_that_held_the_propagated_object_gets_the_other_one_back(swapped):
    store, _keys, a, b, objects = swapped  # the tracker swapped A and B from frame 6: B holds disc 0 there
    propagate_stored(read_stored_track(store, "clip.mp4", a), 6, detector(scene(objects, FRAMES))).write(store)
    assert follows(store, b, objects[1], [0, 1, 2, 3, 4, 5, 7, 8])  # 7, 8: A's old shape, disc 1
    assert track_shape(store, b, 6) is None  # A's corrected frame: B's copy goes (A's old shape there is unknown)
    assert follows(store, b, objects[0], [9, 10])  # past A's next keyframe: as it was
    for t in (6, 7, 8):
        masks = [
            shape_to_mask(track_shape(store, track, t), HEIGHT, WIDTH)
            for track in (a, b)
            if track_shape(store, track, t)
        ]
        assert len(masks) < 2 or mask_iou(*masks) < 0.5


def test_another_tracks_person_made_object_is_kept_and_an_emptied_track_goes_until_undone(swapped, tmp_path):
    store, keys, a, b, objects = swapped
    (obj,) = [o for o in store.frame_objects(keys[7]) if o.track_id == b]
    store.write_change(keys[7], saved=[obj.with_changes(provenance=EDITED)])  # a person says B is disc 0 on 7
    c = store.create_track(store.videos()[0].id, "ball").tracks_after[0].id
    near = mask_to_shape(np.roll(objects[0].mask(8), 2, axis=1))  # disc 0 on frame 8 again, 2 px off: C's only object
    store.write_change(
        keys[8], saved=[*store.frame_objects(keys[8]), AnnotatedObject("ball", near, AUTO, 0.5, track_id=c)]
    )
    kept = [o for o in store.track_objects(b) if o.frame_index == 7]
    stored = read_stored_track(store, "clip.mp4", a)
    shapes = {t: (mask_to_shape(objects[0].mask(t)), 0.9) for t in (7, 8)}  # A takes disc 0 on 7 and 8
    before = content(tmp_path)
    edit = store.apply_propagation(a, shapes, {t: stored.rows[t] for t in (6, 7, 8)}, "Propagate track 1")
    assert [o for o in store.track_objects(b) if o.frame_index == 7] == kept  # B's person-made object: untouched
    assert follows(store, b, objects[1], [8])  # the better copy takes A's old shape
    assert c not in [t.id for t in store.tracks(stored.video_id)]  # C's only object was a copy: C goes
    store.apply_track_edit(edit.inverted())
    assert content(tmp_path) == before


def test_a_damaged_row_of_another_track_is_left_alone_and_does_not_stop_the_write(swapped, tmp_path):
    store, keys, a, b, objects = swapped
    run = propagate_stored(read_stored_track(store, "clip.mp4", a), 6, detector(scene(objects, FRAMES)))
    with closing(sqlite3.connect(project_db_path(tmp_path))) as db, db:  # B's row on frame 7 damaged meanwhile
        db.execute("UPDATE objects SET shape = 'not json' WHERE image_path = ? AND track_id = ?", (keys[7], b))
    run.write(store)
    with closing(sqlite3.connect(project_db_path(tmp_path))) as db:
        assert db.execute(
            "SELECT shape FROM objects WHERE image_path = ? AND track_id = ?", (keys[7], b)
        ).fetchall() == [("not json",)]
        shapes = db.execute("SELECT shape FROM objects WHERE image_path = ? AND track_id = ?", (keys[8], a)).fetchall()
    assert len(shapes) == 1  # A was written; B swapped back on frame 8 (its frame 7 row, damaged, left as it is)
    mask = shape_to_mask(shape_from_json(shapes[0][0]), HEIGHT, WIDTH)
    assert mask_iou(mask, objects[0].mask(8)) > 0.9


def test_a_persons_edit_during_the_run_refuses_the_write_and_nothing_changes(swapped, tmp_path):
    store, keys, a, _b, objects = swapped
    run = propagate_stored(read_stored_track(store, "clip.mp4", a), 6, detector(scene(objects, FRAMES)))
    (obj,) = [o for o in store.frame_objects(keys[4]) if o.track_id == a]
    store.write_change(keys[4], saved=[obj.with_changes(shape=square(40, 40), provenance=EDITED)])  # meanwhile
    before = rows(tmp_path)
    with pytest.raises(StaleEditError, match="track 1's object on frame 4 changed since the run read it"):
        run.write(store)
    assert rows(tmp_path) == before


def test_frames_where_the_model_loses_the_object_are_cleared_and_propagation_stops(swapped):
    store, _keys, a, _b, objects = swapped
    frames = scene(objects, FRAMES, hidden={0: {0, 1, 2, 3, 4, 5}})  # disc 0 found on frames 6 on only
    run = propagate_stored(read_stored_track(store, "clip.mp4", a), 6, detector(frames))
    edit = run.write(store)
    assert run.stopped == 2  # the fourth miss in a row (5, 4, 3, 2): more than AssociationConfig.max_missed
    assert [t for t in range(6) if track_shape(store, a, t) is not None] == [0, 1]  # 3-5 cleared, 0-1 not reached
    assert summary(run, edit) == (
        "Track 1: 2 frames updated, 3 cleared, swapped back with track 2 on 2 frames, track 2's copy removed on "
        "1 frame, stopped at frame 2 (the model lost the object)"
    )


def test_a_cancel_stops_before_the_next_frame_and_writes_nothing(swapped, tmp_path):
    store, _keys, a, _b, objects = swapped
    done: list[int] = []
    detect = detector(
        scene(objects, FRAMES), cancelled=lambda: len(done) >= 3, progress=lambda n, _total: done.append(n)
    )
    before = rows(tmp_path)
    with pytest.raises(PropagationCancelled):
        propagate_stored(read_stored_track(store, "clip.mp4", a), 6, detect)
    assert done == [1, 2, 3] and rows(tmp_path) == before


def test_a_verified_frame_is_left_alone(swapped):
    store, keys, a, _b, objects = swapped
    store.set_frame_status(keys[2], ImageStatus.VERIFIED)
    run = propagate_stored(read_stored_track(store, "clip.mp4", a), 6, detector(scene(objects, FRAMES)))
    run.write(store)
    assert track_shape(store, a, 2) is None and follows(store, a, objects[0], [0, 1, 3])


def test_interpolation_fills_the_frames_between_two_person_made_frames(swapped, tmp_path):
    store, keys, a, _b, _objects = swapped
    (obj,) = [o for o in store.frame_objects(keys[1]) if o.track_id == a]
    store.write_change(keys[1], saved=[obj.with_changes(shape=square(0, 0), provenance=EDITED)])
    (obj,) = [o for o in store.frame_objects(keys[5]) if o.track_id == a]
    store.write_change(keys[5], saved=[obj.with_changes(shape=square(40, 20), provenance=EDITED)])
    before = content(tmp_path)
    run = interpolate_stored(read_stored_track(store, "clip.mp4", a), 3)
    edit = run.write(store)
    for t in (2, 3, 4):  # the square moved 10 px right and 5 down a frame
        box = shape_to_mask(track_shape(store, a, t), HEIGHT, WIDTH)
        ys, xs = np.nonzero(box)
        assert (xs.min(), ys.min()) == pytest.approx((10 * (t - 1), 5 * (t - 1)), abs=1)
    assert summary(run, edit) == "Track 1: 3 frames updated"
    store.apply_track_edit(edit.inverted())
    assert content(tmp_path) == before


def test_interpolation_needs_a_person_made_frame_on_each_side(swapped):
    store, _keys, a, _b, _objects = swapped
    track = read_stored_track(store, "clip.mp4", a).tracks.get(a)
    assert interpolation_span(track, 7) == (6, 9)
    assert interpolation_span(track, 6) == (6, 9) and interpolation_span(track, 9) == (6, 9)
    with pytest.raises(ValueError, match=r"needs a person's shape on a frame before and one after frame 3 .*\[6, 9\]"):
        interpolation_span(track, 3)


def test_a_job_runs_the_model_on_the_video_and_a_cancelled_one_writes_nothing(tmp_path, small_checkpoint):
    from protolabel.segmentation.project.autolabel import AutoLabelSettings, EngineCache
    from protolabel.segmentation.project.track_propagation import PropagationJob
    from protolabel.segmentation.project.video_store import frame_key
    from tests.segmentation.media.videos import make_video
    from tests.segmentation.project.test_video_autolabel import indexed_clip

    indexed_clip(tmp_path)  # clip.mp4, 3 frames of 96 x 64
    with VideoStore.open(tmp_path) as store:
        (video,) = store.videos()
        track = store.create_track(video.id, "person").tracks_after[0].id
        key = frame_key("clip.mp4", 1)
        store.write_change(key, saved=[AnnotatedObject("person", square(20, 10, 30), EDITED, track_id=track)])
    settings = AutoLabelSettings(small_checkpoint, device="cpu", score_threshold=0.0, top_k=5, workers=0)
    engines = EngineCache()
    run = PropagationJob(tmp_path, "clip.mp4", track, 1, settings, engines).run()
    assert set(run.shapes) <= {0, 2} and run.start == 1  # frames either side; nothing written yet
    before = rows(tmp_path)
    job = PropagationJob(tmp_path, "clip.mp4", track, 1, settings, engines)
    job.on_progress = lambda done, _total: job.cancel()
    with pytest.raises(PropagationCancelled):
        job.run()
    assert rows(tmp_path) == before

    make_video(tmp_path / "clip.mp4", 4)  # another video under the same name
    with pytest.raises(ProjectStoreError, match="not the video this project labelled"):
        PropagationJob(tmp_path, "clip.mp4", track, 1, settings, engines).run()


def test_a_job_runs_on_a_frame_folder_and_refuses_when_its_files_moved(tmp_path, small_checkpoint):
    from protolabel.segmentation.project.autolabel import AutoLabelSettings, EngineCache
    from protolabel.segmentation.project.track_propagation import PropagationJob
    from tests.segmentation.media.frame_folders import make_frame_folder
    from tests.segmentation.project.test_frame_folder_store import record

    paths = make_frame_folder(tmp_path / "walk", range(6))
    with VideoStore.open(tmp_path) as store:
        video = record(store, tmp_path)
        track = store.create_track(video.id, "person").tracks_after[0].id
        store.write_change(
            "walk/00002.png", saved=[AnnotatedObject("person", square(20, 10, 30), EDITED, track_id=track)]
        )
    settings = AutoLabelSettings(small_checkpoint, device="cpu", score_threshold=0.0, top_k=5, workers=0)
    run = PropagationJob(tmp_path, "walk/", track, 2, settings, EngineCache()).run()
    assert set(run.shapes) <= {0, 1, 3, 4, 5} and run.start == 2  # the frames are read from their files

    paths[0].unlink()  # every later frame's place moves by one
    with pytest.raises(ProjectStoreError, match="frame files were added or removed"):
        PropagationJob(tmp_path, "walk/", track, 2, settings, EngineCache()).run()


def test_a_model_that_cannot_be_loaded_is_named_in_the_message(tmp_path):
    from protolabel.segmentation.project.autolabel import AutoLabelSettings
    from protolabel.segmentation.project.track_propagation import PropagationJob
    from protolabel.segmentation.project.video_store import frame_key
    from tests.segmentation.project.test_video_autolabel import indexed_clip

    indexed_clip(tmp_path)
    with VideoStore.open(tmp_path) as store:
        (video,) = store.videos()
        track = store.create_track(video.id, "person").tracks_after[0].id
        store.write_change(
            frame_key("clip.mp4", 1), saved=[AnnotatedObject("person", square(5, 5), EDITED, track_id=track)]
        )
    settings = AutoLabelSettings(tmp_path / "missing.pth", device="cpu")
    with pytest.raises(ValueError, match=r"missing\.pth: no such weights file"):
        PropagationJob(tmp_path, "clip.mp4", track, 1, settings).run()
