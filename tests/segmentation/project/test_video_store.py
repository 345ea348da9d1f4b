"""Videos, frames and tracks in the project store: identity, model runs beside a person's work, undoable track edits."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.project.document import ImageAnnotations
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus
from protolabel.segmentation.project.store import (
    DamagedRowError,
    ProjectStoreError,
    StaleEditError,
    TrackConflictError,
    project_db_path,
)
from protolabel.segmentation.project.verified import verified_in
from protolabel.segmentation.project.video_store import NotTheLabelledVideoError, VideoStore, frame_key

AUTO, EDITED, VERIFIED = Provenance.AUTO, Provenance.EDITED, Provenance.VERIFIED
SHA = hashlib.sha256(b"clip").hexdigest()
FRAMES = 6
PTS = {i: 512 * i + 7 for i in range(FRAMES)}  # not the index: a drift between them would show


def add_clip(store: VideoStore, path: str = "clip.mp4", sha: str = SHA):
    video = store.add_video(
        path, sha256=sha, frame_count=FRAMES, width=64, height=48, size_bytes=1234, time_base="1/15360"
    )
    return video, store.add_frames(video.id, PTS)


@pytest.fixture
def store(tmp_path):
    with VideoStore.open(tmp_path) as opened:
        yield opened


@pytest.fixture
def tracked(store, square):
    """clip.mp4 with two tracks: 'cat' on frames 0-4 (a person corrected frame 2), 'dog' on frames 3-5 (auto)."""
    video, keys = add_clip(store)
    cat = store.create_track(video.id, "cat").tracks_after[0]
    dog = store.create_track(video.id, "dog").tracks_after[0]
    for i in range(5):
        provenance = EDITED if i == 2 else AUTO
        store.write_change(keys[i], saved=[AnnotatedObject("cat", square(i, 0), provenance, 0.9, track_id=cat.id)])
    for i in range(3, 6):
        store.write_change(keys[i], saved=[AnnotatedObject("dog", square(20 + i, 20), AUTO, 0.8, track_id=dog.id)])
    return video, keys, cat, dog


def rows(folder) -> dict[str, list[tuple]]:
    """Every row of the tables a track edit touches, read by another connection (updated_at left out)."""
    with closing(sqlite3.connect(project_db_path(folder))) as db:
        return {
            "objects": db.execute(
                "SELECT id, image_path, label, provenance, score, shape, version, track_id FROM objects ORDER BY id"
            ).fetchall(),
            "tracks": db.execute("SELECT id, video_id, label, version FROM tracks ORDER BY id").fetchall(),
            "images": db.execute("SELECT path, status FROM images ORDER BY path").fetchall(),
            "rejected": db.execute("SELECT id FROM rejected_objects ORDER BY id").fetchall(),
        }


def content(folder) -> dict[str, list[tuple]]:
    """`rows` without versions: what a person sees, which an undo must give back exactly."""
    found = rows(folder)
    found["objects"] = [r[:6] + r[7:] for r in found["objects"]]
    found["tracks"] = [r[:3] for r in found["tracks"]]
    return found


# ---------------------------------------------------------------- videos and frames
def test_frames_are_recorded_with_their_identity_and_keys(store):
    video, keys = add_clip(store)
    assert keys == [f"clip.mp4#{i:06d}" for i in range(FRAMES)]
    assert frame_key("a/b.mov", 1_234_567) == "a/b.mov#1234567"
    assert store.videos() == [video] and store.video("clip.mp4") == video
    assert (video.sha256, video.frame_count, video.time_base) == (SHA, FRAMES, "1/15360")
    frames = store.frames(video.id)
    assert [(f.key, f.index, f.pts, f.status) for f in frames] == [
        (keys[i], i, PTS[i], ImageStatus.UNLABELED) for i in range(FRAMES)
    ]
    store.set_frame_status(keys[1], ImageStatus.VERIFIED)
    assert store.frame(keys[1]).status is ImageStatus.VERIFIED
    assert add_clip(store) == (video, keys)  # adding again changes nothing


def test_image_reads_leave_frames_out(store, square):
    _, keys = add_clip(store)
    store.write_change(keys[0], saved=[AnnotatedObject("cat", square(0, 0), VERIFIED)], status=ImageStatus.VERIFIED)
    store.write_change("a.png", saved=[AnnotatedObject("cat", square(0, 0), VERIFIED)], status=ImageStatus.VERIFIED)
    assert store.statuses() == {"a.png": ImageStatus.VERIFIED}
    assert store.annotated_images() == ["a.png"]
    assert store.verified_object_counts() == {"a.png": 1}
    assert store.label_counts() == {"cat": 2}  # class counts are the whole project's


def test_a_replaced_video_file_is_refused_by_name_and_its_labels_stay(store, square):
    _, keys = add_clip(store)
    store.write_change(keys[0], saved=[AnnotatedObject("cat", square(0, 0))])
    other = hashlib.sha256(b"another clip").hexdigest()
    with pytest.raises(NotTheLabelledVideoError, match=r"clip.mp4 is not the video this project labelled"):
        add_clip(store, sha=other)
    assert store.video("clip.mp4").sha256 == SHA and len(store.objects(keys[0])) == 1


def test_frame_times_that_drift_are_refused_and_nothing_changes(store):
    video, _ = add_clip(store)
    before = store.frames(video.id)
    with pytest.raises(
        ProjectStoreError, match=r"frame 2 was recorded at time 1031 and is now read at 1032 \(1 frame differs\)"
    ):
        store.add_frames(video.id, {2: PTS[2] + 1, 3: PTS[3]})
    assert store.frames(video.id) == before


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"path": "../clip.mp4"}, "is not a '/'-separated path inside the folder"),
        ({"path": "/abs/clip.mp4"}, "is not a '/'-separated path inside the folder"),
        ({"sha256": "XYZ"}, "is not 64 lowercase hex digits"),
        ({"frame_count": -1}, "frame count -1 is not a whole number >= 0"),
        ({"frame_count": 0}, "clip.mp4 has no video frames"),
        ({"width": 0}, "width 0 is not a whole number >= 1"),
        ({"time_base": "0/1"}, "time base '0/1' is not a positive fraction"),
        ({"average_fps": "thirty"}, "frame rate 'thirty' is not a positive fraction"),
    ],
)
def test_bad_video_records_are_refused_with_the_reason(store, changes, message):
    values = dict(path="clip.mp4", sha256=SHA, frame_count=3, width=64, height=48, size_bytes=10, time_base="1/90000")
    values.update(changes)
    path = values.pop("path")
    with pytest.raises(ValueError, match=message):
        store.add_video(path, **values)
    assert store.videos() == []


def test_bad_frames_are_refused(store):
    video, _ = add_clip(store)
    with pytest.raises(ValueError, match=r"clip.mp4: frame 6 is past its last frame \(5\)"):
        store.add_frames(video.id, {6: 0})
    with pytest.raises(ValueError, match="frame index -1 is not a whole number"):
        store.add_frames(video.id, {-1: 0})
    with pytest.raises(TrackConflictError, match="video 99 is not a video of this project"):
        store.add_frames(99, {0: 0})
    with pytest.raises(TrackConflictError, match="not a frame of this project"):
        store.set_frame_status("clip.mp4#000099", ImageStatus.EDITED)


def test_a_frame_is_edited_and_undone_like_an_image(store, tracked, square):
    _, keys, cat, _ = tracked
    doc = ImageAnnotations(store, keys[1])
    (obj,) = doc.objects
    assert obj.track_id == cat.id
    edited = doc.apply(doc.edit_shape(obj.id, square(9, 9)))
    assert store.person_keyframes(cat.id) == [1, 2]  # the correction made frame 1 a keyframe
    assert store.frame_objects(keys[1])[0].track_id == cat.id  # the edit kept the track
    doc.apply(edited.inverted())
    assert store.person_keyframes(cat.id) == [2]
    deleted = doc.apply(doc.delete_objects([obj.id]))
    doc.apply(deleted.inverted())
    assert store.frame_objects(keys[1]) == [obj]


# ---------------------------------------------------------------- model runs
def test_a_model_run_never_overwrites_a_persons_object_of_a_track(store, tracked, square):
    _, keys, cat, dog = tracked
    person = store.objects(keys[2])[0]
    run = [
        AnnotatedObject("tiger", square(50, 50), AUTO, 0.7, track_id=cat.id),  # the person's track on this frame
        AnnotatedObject("tiger", square(30, 30), AUTO, 0.6, track_id=dog.id),
        AnnotatedObject("bird", square(40, 40), AUTO, 0.5),
    ]
    outcome = store.replace_auto_frame_objects(keys[2], run)
    assert outcome.added == 2 and outcome.kept == 1
    objects = store.objects(keys[2])
    assert objects[0] == person
    assert sorted((o.label, o.track_id) for o in objects[1:]) == [("bird", None), ("dog", dog.id)]  # track's class

    outcome = store.replace_auto_frame_objects(keys[3], run)  # only auto objects there: replaced
    assert outcome.replaced == 2 and outcome.added == 3
    assert {o.track_id for o in store.objects(keys[3])} == {cat.id, dog.id, None}

    store.set_frame_status(keys[4], ImageStatus.VERIFIED)
    before = store.objects(keys[4])
    assert store.replace_auto_frame_objects(keys[4], run).skipped and store.objects(keys[4]) == before


def test_a_model_run_with_a_track_of_another_video_writes_nothing(store, tracked, tmp_path, square):
    _, keys, _, _ = tracked
    other_video, other_keys = add_clip(store, "other.mp4", hashlib.sha256(b"other").hexdigest())
    stranger = store.create_track(other_video.id, "cat").tracks_after[0]
    before = rows(tmp_path)
    with pytest.raises(TrackConflictError, match=rf"{keys[0]}: track {stranger.id} is not a track of this frame"):
        store.replace_auto_frame_objects(keys[0], [AnnotatedObject("cat", square(0, 0), AUTO, track_id=stranger.id)])
    with pytest.raises(TrackConflictError, match=rf"track {stranger.id} is not a track of this frame's video"):
        store.write_change(keys[0], saved=[AnnotatedObject("cat", square(0, 0), track_id=stranger.id)])
    with pytest.raises(TrackConflictError, match="not a frame of this project"):
        store.replace_auto_frame_objects("clip.mp4#000099", [])
    with pytest.raises(TrackConflictError, match="a.png is not a frame of a video"):
        store.write_change("a.png", saved=[AnnotatedObject("cat", square(0, 0), track_id=stranger.id)])
    assert rows(tmp_path) == before


def test_a_track_has_one_object_per_frame(store, tracked, tmp_path, square):
    _, keys, cat, _ = tracked
    before = rows(tmp_path)
    with pytest.raises(TrackConflictError, match=rf"track {cat.id} already has an object on this frame"):
        store.write_change(keys[0], saved=[AnnotatedObject("cat", square(30, 30), track_id=cat.id)])
    assert rows(tmp_path) == before


def test_one_frames_object_of_a_track_cannot_take_another_class(store, tracked, tmp_path):
    _, keys, cat, _ = tracked
    doc = ImageAnnotations(store, keys[0])
    before = rows(tmp_path)
    with pytest.raises(TrackConflictError, match=rf"an object of track {cat.id} \(cat\) cannot be given the class"):
        doc.apply(doc.relabel([doc.objects[0].id], "dog"))
    assert rows(tmp_path) == before


def test_a_project_wide_class_rename_takes_the_tracks_along_and_its_undo_brings_them_back(store, tracked, tmp_path):
    _, keys, cat, dog = tracked
    start = content(tmp_path)
    taken = store.take_class("cat", "dog", {})  # a merge of classes: the cat track's objects become dogs
    assert store.track(cat.id).label == "dog" and store.track(dog.id).label == "dog"
    store.relabel_objects(taken.objects, taken.versions, "cat", {}, "undo")
    assert content(tmp_path) == start

    deleted = store.take_class("cat", None, {})  # a class delete leaves the empty track for its undo
    assert store.track_objects(cat.id) == []
    store.restore_objects(deleted.objects, {}, "undo")
    assert content(tmp_path) == start


def test_a_damaged_track_id_damages_its_frame_only(store, tracked, tmp_path):
    _, keys, cat, _ = tracked
    with closing(sqlite3.connect(project_db_path(tmp_path))) as db:
        db.execute("UPDATE objects SET track_id = 'seven' WHERE image_path = ?", (keys[1],))
        db.commit()
    with pytest.raises(DamagedRowError, match=rf"{keys[1]}: object \d+ in .* is damaged \(track 'seven' is not"):
        store.frame_objects(keys[1])
    assert store.objects_overview().damaged == {keys[1]}
    assert len(store.frame_objects(keys[0])) == 1


def test_image_states_read_statuses_and_verified_counts_of_frames_and_images_in_one_call(
    store, tracked, tmp_path, square
):
    _video, keys, _cat, _dog = tracked
    accepted = [AnnotatedObject("cow", square(5 * i, 0), VERIFIED) for i in range(2)]
    store.write_change(
        "a.png", saved=[*accepted, AnnotatedObject("cow", square(0, 20), AUTO, 0.5)], status=ImageStatus.EDITED
    )
    store.write_change(keys[1], saved=[AnnotatedObject("cat", square(30, 30), VERIFIED)])  # beside the auto cat
    with closing(sqlite3.connect(project_db_path(tmp_path))) as db:
        db.execute("UPDATE images SET status = 'half-done' WHERE path = ?", (keys[2],))
        db.commit()
    states = store.image_states(["a.png", keys[1], keys[2], keys[4], "gone.png", "a.png"])
    assert list(states) == ["a.png", keys[1], keys[2], keys[4], "gone.png"]
    assert (states["a.png"].status, states["a.png"].verified) == (ImageStatus.EDITED, 2)
    for key in (keys[1], keys[4]):  # as the image reads give them, frame by frame
        assert (states[key].status, states[key].verified) == (store.status(key), verified_in(store.objects(key)))
    assert states[keys[1]].verified == 1 and states[keys[4]].verified == 0
    assert states[keys[2]].damaged == "unknown status 'half-done' in the project database"
    assert (states["gone.png"].status, states["gone.png"].verified, states["gone.png"].damaged) == (
        ImageStatus.UNLABELED,
        0,
        None,
    )
    assert store.image_states([]) == {}


def test_a_damaged_frame_status_marks_that_frame_and_the_rest_of_the_video_reads(store, tracked, tmp_path):
    video, keys, _, _ = tracked
    with closing(sqlite3.connect(project_db_path(tmp_path))) as db:
        db.execute("UPDATE images SET status = 'half-done' WHERE path = ?", (keys[2],))
        db.commit()
    frames = store.frames(video.id)
    assert [f.index for f in frames if f.damaged] == [2]
    assert frames[2].damaged == "unknown status 'half-done' in the project database"
    assert store.frame(keys[2]).damaged and ImageAnnotations(store, keys[2]).damaged  # read-only, rows kept


# ---------------------------------------------------------------- reading tracks
def test_a_tracks_objects_come_in_frame_order_with_its_person_keyframes(store, tracked):
    _, keys, cat, dog = tracked
    assert [(t.frame_index, t.frame_key) for t in store.track_objects(cat.id)] == [(i, keys[i]) for i in range(5)]
    assert [t.object.provenance for t in store.track_objects(cat.id)] == [AUTO, AUTO, EDITED, AUTO, AUTO]
    assert store.person_keyframes(cat.id) == [2] and store.person_keyframes(dog.id) == []
    assert [t.label for t in store.tracks(cat.video_id)] == ["cat", "dog"]


# ---------------------------------------------------------------- track edits and their undo
def _undo_redo(store, folder, edit):
    """Undo then redo `edit`: the undo gives back exactly what was there before, the redo what it made."""
    before_undo = content(folder)
    undone = store.apply_track_edit(edit.inverted())
    after_undo = content(folder)
    redone = store.apply_track_edit(undone.inverted())
    assert content(folder) == before_undo
    return after_undo, redone


def test_reclassing_a_track_relabels_every_frame_and_undoes(store, tracked, tmp_path):
    _, keys, cat, dog = tracked
    start = content(tmp_path)
    edit = store.set_track_class(cat.id, "lion")
    assert {t.object.label for t in store.track_objects(cat.id)} == {"lion"}
    assert store.track(cat.id).label == "lion"
    assert [t.object.provenance for t in store.track_objects(cat.id)] == [AUTO, AUTO, EDITED, AUTO, AUTO]
    assert {t.object.label for t in store.track_objects(dog.id)} == {"dog"}
    after_undo, _ = _undo_redo(store, tmp_path, edit)
    assert after_undo == start


def test_merging_tracks_that_share_a_frame_is_refused_and_one_that_does_not_undoes(store, tracked, tmp_path, square):
    video, keys, cat, dog = tracked
    before = rows(tmp_path)
    with pytest.raises(TrackConflictError, match=r"both have an object on frame\(s\) 3, 4"):
        store.merge_tracks(cat.id, dog.id)
    assert rows(tmp_path) == before

    store.delete_track(dog.id, from_frame=0)  # make room: a bird track on frames 5 only, merged into cat
    bird = store.create_track(video.id, "bird").tracks_after[0]
    store.write_change(keys[5], saved=[AnnotatedObject("bird", square(1, 1), AUTO, track_id=bird.id)])
    start = content(tmp_path)
    edit = store.merge_tracks(cat.id, bird.id)
    assert [t.frame_index for t in store.track_objects(cat.id)] == [0, 1, 2, 3, 4, 5]
    assert store.track_objects(cat.id)[5].object.label == "cat" and store.track(bird.id) is None
    after_undo, redone = _undo_redo(store, tmp_path, edit)
    assert after_undo == start  # the bird track is back under its id, with its object
    assert store.track(bird.id) is None and redone.tracks_before[0].id == bird.id


def test_splitting_a_track_moves_the_later_frames_to_a_new_track_and_undoes(store, tracked, tmp_path):
    _, keys, cat, _ = tracked
    start = content(tmp_path)
    edit = store.split_track(cat.id, 3)
    (new,) = edit.tracks_after
    assert [t.frame_index for t in store.track_objects(cat.id)] == [0, 1, 2]
    assert [t.frame_index for t in store.track_objects(new.id)] == [3, 4] and new.label == "cat"
    after_undo, _ = _undo_redo(store, tmp_path, edit)
    assert after_undo == start  # the new track is gone again
    assert [t.frame_index for t in store.track_objects(new.id)] == [3, 4]  # the redo re-made it under its id
    with pytest.raises(TrackConflictError, match="has no object on frame 9 or later"):
        store.split_track(cat.id, 9)


def test_deleting_a_track_from_a_frame_on_rejects_its_auto_objects_and_undoes(store, tracked, tmp_path):
    _, keys, cat, _ = tracked
    start = content(tmp_path)
    edit = store.delete_track(cat.id, from_frame=2)
    assert [t.frame_index for t in store.track_objects(cat.id)] == [0, 1]
    assert [store.status(keys[i]) for i in (2, 3, 4)] == [ImageStatus.EDITED] * 3
    assert [len(store.rejected_shapes(keys[i])) for i in (2, 3, 4)] == [0, 1, 1]  # the person's is not "auto"
    after_undo, redone = _undo_redo(store, tmp_path, edit)
    assert after_undo == start  # objects, statuses and rejections as they were
    store.apply_track_edit(redone.inverted())

    whole = store.delete_track(cat.id)
    assert store.track(cat.id) is None and store.track_objects(cat.id) == []
    store.apply_track_edit(whole.inverted())
    assert content(tmp_path) == start


# ---------------------------------------------------------------- two writers
def test_an_undo_over_a_change_made_elsewhere_is_refused_and_writes_nothing(store, tracked, tmp_path, square):
    _, keys, cat, _ = tracked
    edit = store.set_track_class(cat.id, "lion")
    with VideoStore.open(tmp_path) as other:
        doc = ImageAnnotations(other, keys[4])
        doc.apply(doc.edit_shape(doc.objects[0].id, square(7, 7)))
    before = rows(tmp_path)
    with pytest.raises(StaleEditError, match=r"object \d+ \(cat\) of clip.mp4#000004 was changed"):
        store.apply_track_edit(edit.inverted())
    assert rows(tmp_path) == before


def test_a_redo_of_a_delete_over_an_edit_made_elsewhere_is_refused(store, tracked, tmp_path, square):
    _, keys, _, dog = tracked
    undone = store.apply_track_edit(store.delete_track(dog.id).inverted())
    with VideoStore.open(tmp_path) as other:
        doc = ImageAnnotations(other, keys[5])
        doc.apply(doc.edit_shape(doc.objects[0].id, square(8, 8)))
    before = rows(tmp_path)
    with pytest.raises(StaleEditError, match="was changed by another window or program"):
        store.apply_track_edit(undone.inverted())
    assert rows(tmp_path) == before


@pytest.mark.parametrize("empty", [True, False])
def test_only_the_store_that_deleted_a_track_brings_it_back(store, tracked, tmp_path, empty):
    video, _, _, dog = tracked
    with VideoStore.open(tmp_path) as other:
        if empty:
            created = other.create_track(video.id, "bird")
            deleted = other.apply_track_edit(created.inverted())
            track_id = created.tracks_after[0].id
        else:
            deleted, track_id = other.delete_track(dog.id), dog.id
    before = rows(tmp_path)
    with pytest.raises(StaleEditError, match=rf"track {track_id} was deleted by another window or program"):
        store.apply_track_edit(deleted.inverted())
    assert rows(tmp_path) == before and store.track(track_id) is None


# ---------------------------------------------------------------- crash safety
_KILLED = r"""
import sys, time
from protolabel.segmentation.project.video_store import VideoStore
store = VideoStore.open(sys.argv[1])
track = int(sys.argv[2])
store.set_track_class(track, "lion")
print("DONE", flush=True)
store._db.execute("BEGIN IMMEDIATE")
store._db.execute("UPDATE objects SET label = 'half-written' WHERE track_id = ?", (track,))
store._db.execute("DELETE FROM objects WHERE track_id = ?", (track + 1,))
store._db.execute("DELETE FROM tracks WHERE id = ?", (track + 1,))
print("WRITING", flush=True)
time.sleep(60)
"""


def test_a_killed_writer_keeps_its_finished_track_edit_and_none_of_the_one_in_progress(store, tracked, tmp_path):
    _, _, cat, dog = tracked
    assert dog.id == cat.id + 1
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED, str(tmp_path), str(cat.id)],
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ,
        cwd=Path(__file__).resolve().parents[3],
    )
    try:
        assert proc.stdout.readline().strip() == "DONE"
        assert proc.stdout.readline().strip() == "WRITING"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()
    with VideoStore.open(tmp_path) as reopened:
        assert {t.object.label for t in reopened.track_objects(cat.id)} == {"lion"}
        assert reopened.track(dog.id) is not None and len(reopened.track_objects(dog.id)) == 3
        assert reopened._read("PRAGMA integrity_check") == [("ok",)]


def test_a_video_file_is_recorded_from_its_index_as_shown(tmp_path):
    from protolabel.segmentation.media.reader import VideoReader
    from tests.segmentation.media.videos import make_video

    make_video(tmp_path / "turned.mp4", 4, rotation=90, durations_ms=[40, 40, 80])  # 4 frames, one held longer
    with VideoReader(tmp_path / "turned.mp4") as reader, VideoStore.open(tmp_path) as store:
        video, keys = store.record_video("turned.mp4", reader.index)
        height, width = reader.read(0).shape[:2]  # as shown: rotation applied
        assert (video.width, video.height) == (width, height) != (reader.index.width, reader.index.height)
        assert video.variable_frame_rate and video.average_fps == "75/4"  # 3 frame steps in 0.16 s
        assert keys == [frame_key("turned.mp4", i) for i in range(4)]
        assert [f.pts for f in store.frames(video.id)] == list(reader.index.pts)
