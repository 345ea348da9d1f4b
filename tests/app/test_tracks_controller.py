"""TracksController: the list follows track edits at once and a burst of frame events with one store read."""

from __future__ import annotations

import pytest

from protolabel.app.controllers.tracks import TracksController
from protolabel.segmentation.project.timeline import Timeline
from protolabel.segmentation.project.track_list import TrackList
from tests.segmentation.project.conftest import make_square
from tests.segmentation.project.test_project_tracks import tracked_project


@pytest.fixture
def controlled(qtbot, tmp_path):
    """clip.mp4 ('cat' on frames 0-3, 'dog' on 2-3) listed by a controller; yields it with the statements
    the store runs from then on."""
    project, keys, cat, dog = tracked_project(tmp_path, make_square)
    controller = TracksController(TrackList(), Timeline(6))
    controller.open_project(project)
    controller.show_video("clip.mp4")
    statements: list[str] = []
    project.store._db.set_trace_callback(statements.append)  # every SQL statement the store runs
    yield controller, project, keys, cat, dog, statements
    project.store._db.set_trace_callback(None)
    project.close()


def test_a_burst_of_frame_events_is_one_store_read(controlled, qtbot):
    controller, project, keys, cat, _dog, statements = controlled
    assert [r.track_id for r in controller.tracks.rows] == [cat, _dog]
    for _ in range(125):  # a model run writing 500 frames: one event per frame
        for key in keys:
            project.events.objects_changed.emit(key, None)
    assert statements == []  # nothing read while the burst goes on
    qtbot.waitUntil(lambda: bool(statements))
    qtbot.wait(300)  # no more refreshes come after the one
    assert sum("FROM tracks t JOIN objects" in s for s in statements) == 1
    assert len(statements) <= 3  # the video, its summaries; no read per track or per frame


def test_a_track_edit_shows_at_once(controlled):
    controller, project, _keys, cat, dog, _statements = controlled
    controller.tracks.select(dog)
    edit = project.edit_tracks(lambda store: store.delete_track(dog))
    assert [r.track_id for r in controller.tracks.rows] == [cat]  # no wait for the timer
    assert controller.tracks.selected is None
    project.undo_track_edit(edit)
    assert [(r.track_id, r.first_frame, r.last_frame) for r in controller.tracks.rows] == [(cat, 0, 3), (dog, 2, 3)]


def test_events_of_another_video_or_no_video_read_nothing(controlled, qtbot):
    controller, project, keys, _cat, _dog, statements = controlled
    project.events.tracks_changed.emit("other.mp4")
    controller.show_video(None)
    statements.clear()
    project.events.objects_changed.emit(keys[0], None)
    qtbot.wait(300)
    assert statements == [] and controller.tracks.rows == ()
