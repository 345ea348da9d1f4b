"""Track edits through the open project: the frames they touch are re-read, one tracks_changed per video, undo/redo."""

from __future__ import annotations

import pytest

from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.project.project import Project
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus
from protolabel.segmentation.project.store import StaleEditError
from protolabel.segmentation.project.video_store import VideoStore
from tests.segmentation.project.test_video_store import add_clip


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
