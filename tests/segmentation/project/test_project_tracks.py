"""Track edits through the open project: the frames they touch are re-read, one tracks_changed per video, undo/redo."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest

from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.project.project import Project
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus
from protolabel.segmentation.project.store import StaleEditError, project_db_path
from protolabel.segmentation.project.verified import verified_in
from protolabel.segmentation.project.video_store import VideoStore
from tests.segmentation.project.test_video_store import SHA, add_clip


def tracked_project(folder, square) -> tuple[Project, list[str], int, int]:
    """clip.mp4 with track 'cat' on frames 0-3 (auto) and 'dog' on 2-3; frame 1's document is open."""
    store = VideoStore.open(folder)
    video, keys = add_clip(store)
    cat = store.create_track(video.id, "cat").tracks_after[0]
    dog = store.create_track(video.id, "dog").tracks_after[0]
    for i in range(4):
        saved = [AnnotatedObject("cat", square(i, 0), Provenance.AUTO, 0.9, track_id=cat.id)]
        if i >= 2:
            saved.append(AnnotatedObject("dog", square(30, 20), Provenance.AUTO, 0.8, track_id=dog.id))
        store.write_change(keys[i], saved=saved, status=ImageStatus.AUTO_LABELED)
    opened = Project.from_store(store, ["clip.mp4"])
    opened.document(keys[1])
    return opened, keys, cat.id, dog.id


@pytest.fixture
def project(tmp_path, square):
    opened = tracked_project(tmp_path, square)
    yield opened
    opened[0].close()


def labels(project: Project, key: str) -> list[str]:
    return sorted(o.label for o in project.document(key).objects)


def test_a_track_edit_refreshes_its_frames_and_signals_the_video_once(project):
    project, keys, cat, _dog = project
    changed, tracks = [], []
    project.events.objects_changed.connect(lambda name, _change: changed.append(name))
    project.events.tracks_changed.connect(tracks.append)
    edit = project.edit_tracks(lambda store: store.set_track_class(cat, "lynx"))
    assert labels(project, keys[1]) == ["lynx"]  # the open document was re-read
    assert labels(project, keys[2]) == ["dog", "lynx"]
    assert sorted(changed) == keys[:4] and tracks == ["clip.mp4"]
    assert edit.text == f"Change track {cat} to lynx"


def test_undo_and_redo_of_a_track_edit_give_back_each_state(project):
    project, keys, cat, dog = project
    edit = project.edit_tracks(lambda store: store.delete_track(dog))
    assert labels(project, keys[2]) == ["cat"]
    assert project.images.status(keys[2]) is ImageStatus.EDITED  # a person removed the model's objects there
    edit = project.undo_track_edit(edit)
    assert labels(project, keys[2]) == ["cat", "dog"]
    assert project.images.status(keys[2]) is ImageStatus.AUTO_LABELED
    edit = project.redo_track_edit(edit)
    assert labels(project, keys[3]) == ["cat"]
    project.undo_track_edit(edit)
    assert labels(project, keys[3]) == ["cat", "dog"]


def test_an_undo_over_a_change_made_since_is_refused_and_shows_the_store(project, square):
    project, keys, cat, _dog = project
    edit = project.edit_tracks(lambda store: store.set_track_class(cat, "lynx"))
    doc = project.document(keys[1])
    (obj,) = doc.objects
    doc.apply(doc.edit_shape(obj.id, square(5, 5)))  # a person edits frame 1 after the re-class
    with pytest.raises(StaleEditError):
        project.undo_track_edit(edit)
    assert labels(project, keys[0]) == ["lynx"]  # nothing written


def test_a_track_undo_after_an_undone_image_step_on_its_frame_goes_through(project, square):
    project, keys, cat, _dog = project
    edit = project.edit_tracks(lambda store: store.set_track_class(cat, "lynx"))
    doc = project.document(keys[1])
    (obj,) = doc.objects
    step = doc.apply(doc.edit_shape(obj.id, square(5, 5)))
    doc.apply(step.inverted())  # the same content again, under a newer version
    project.undo_track_edit(edit)
    assert labels(project, keys[1]) == ["cat"] and labels(project, keys[2]) == ["cat", "dog"]


# ---------------------------------------------------------------- the refresh after an edit over many frames
LONG = 24  # frames of the long clip: the refresh reads them together, so a handful would not show a mix-up


@pytest.fixture
def long_project(tmp_path, square):
    """long.mp4: 'cat' (auto) on every frame, 'dog' on frames 12-23, a person's (verified) on the even ones;
    frames without a person's object auto-labeled, the others edited; frame 5's document is open."""
    store = VideoStore.open(tmp_path)
    video = store.add_video(
        "long.mp4", sha256=SHA, frame_count=LONG, width=64, height=48, size_bytes=1, time_base="1/15"
    )
    keys = store.add_frames(video.id, {i: i for i in range(LONG)})
    cat = store.create_track(video.id, "cat").tracks_after[0]
    dog = store.create_track(video.id, "dog").tracks_after[0]
    for i, key in enumerate(keys):
        saved = [AnnotatedObject("cat", square(i, 0), Provenance.AUTO, 0.9, track_id=cat.id)]
        accepted = i >= LONG // 2 and i % 2 == 0
        if i >= LONG // 2:
            provenance = Provenance.VERIFIED if accepted else Provenance.AUTO
            saved.append(AnnotatedObject("dog", square(30, 20), provenance, 0.8, track_id=dog.id))
        store.write_change(key, saved=saved, status=ImageStatus.EDITED if accepted else ImageStatus.AUTO_LABELED)
    opened = Project.from_store(store, ["long.mp4"])
    opened.document(keys[5])
    yield opened, keys, cat.id, dog.id
    opened.close()


def shown_and_stored(project: Project, keys: list[str]) -> tuple[dict, dict]:
    """Each frame's (status, verified objects) as the image list shows them, and as the store holds them, read
    frame by frame through the image API (an oracle apart from the batched read)."""
    store = project.store
    shown = {k: (project.images.status(k), project.images.verified_objects(k)) for k in keys}
    stored = {k: (store.status(k), verified_in(store.objects(k))) for k in keys}
    return shown, stored


def test_an_edit_over_many_frames_and_its_undo_leave_every_frames_status_and_verified_count_as_stored(
    long_project, square
):
    project, keys, cat, dog = long_project
    edit = project.edit_tracks(lambda store: store.delete_track(dog))
    shown, stored = shown_and_stored(project, keys)
    assert shown == stored
    assert {status for status, _ in shown.values()} == {ImageStatus.AUTO_LABELED, ImageStatus.EDITED}

    project.undo_track_edit(edit)  # the person's verified objects come back on frames 12, 14, ... 22
    shown, stored = shown_and_stored(project, keys)
    assert shown == stored
    assert [keys.index(k) for k, (_, verified) in shown.items() if verified] == list(range(LONG // 2, LONG, 2))

    store = project.store
    read = {o.frame_index: [(o.object.id, o.object.version)] for o in store.track_objects(cat)}
    shapes = {i: (square(i + 1, 2), 0.7) for i in range(1, LONG)}
    project.edit_tracks(lambda s: s.apply_propagation(cat, shapes, read, "Propagate track"))
    shown, stored = shown_and_stored(project, keys)
    assert shown == stored


def test_the_refresh_reads_frames_without_an_open_document_together_not_one_by_one(long_project, monkeypatch):
    project, keys, cat, _dog = long_project
    one_by_one = []
    for name in ("status", "objects"):
        real = getattr(project.store, name)
        monkeypatch.setattr(project.store, name, lambda key, real=real: one_by_one.append(key) or real(key))
    changed = []
    project.events.objects_changed.connect(lambda name, _change: changed.append(name))
    project.edit_tracks(lambda store: store.set_track_class(cat, "lynx"))
    assert set(one_by_one) <= {keys[5]}  # only the open document re-reads its own frame
    assert changed == sorted(keys)  # every frame still says it changed, in order, once


def test_a_frame_with_a_damaged_status_is_marked_unreadable_and_the_edit_stands(long_project, tmp_path):
    project, keys, cat, _dog = long_project
    with closing(sqlite3.connect(project_db_path(tmp_path))) as db:
        db.execute("UPDATE images SET status = 'half-done' WHERE path = ?", (keys[3],))
        db.commit()
    edit = project.edit_tracks(lambda store: store.set_track_class(cat, "lynx"))
    assert edit.text == f"Change track {cat} to lynx"
    assert project.images.unreadable[keys[3]] == "unknown status 'half-done' in the project database"
    assert labels(project, keys[4]) == ["lynx"]


def test_a_project_opens_with_its_frames_verified_counts_as_stored(long_project):
    project, keys, _cat, _dog = long_project
    shown, stored = shown_and_stored(project, keys)
    assert shown == stored
    assert [keys.index(k) for k, (_, verified) in shown.items() if verified] == list(range(LONG // 2, LONG, 2))


def test_a_class_change_keeps_the_frames_verified_counts(long_project):
    project, keys, _cat, _dog = long_project
    project.rename_class("cat", "kitten")  # every frame's objects change: the whole list is re-read
    shown, stored = shown_and_stored(project, keys)
    assert shown == stored
