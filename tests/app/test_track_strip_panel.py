"""The selected track's heat strip under the Tracks dock: read from the cache, empty frames said, click to go."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from protolabel.app.controllers.tracks import TracksController
from protolabel.app.docks.tracks import TracksDock
from protolabel.app.inspector.track_strip import CONTRIBUTIONS, TrackStripController, TrackStripPanel
from protolabel.segmentation.inspection.cache import NO_OBJECT, ImageInference
from protolabel.segmentation.project.timeline import Timeline
from protolabel.segmentation.project.track_list import TrackList
from tests.segmentation.inspection.conftest import blob_record
from tests.segmentation.project.conftest import make_square
from tests.segmentation.project.test_project_tracks import tracked_project


@pytest.fixture
def panel(qtbot, tmp_path):
    """clip.mp4's track 'cat' (frames 0-3) with cached runs on frames 0 and 2 only; the panel under its dock."""
    project, keys, cat, dog = tracked_project(tmp_path, make_square)
    for i in (0, 2):
        (obj,) = [o for o in project.store.frame_objects(keys[i]) if o.track_id == cat]
        project.inference.put(ImageInference(keys[i], (blob_record(object_ids=(obj.id, NO_OBJECT)),)))
    tracks = TracksController(TrackList(), Timeline(6))
    tracks.open_project(project)
    tracks.show_video("clip.mp4")
    dock = TracksDock(tracks.tracks)
    qtbot.addWidget(dock)
    view = TrackStripPanel()
    dock.add_below(view)
    controller = TrackStripController(view, tracks)
    controller.open_project(project)
    dock.resize(500, 400)
    dock.show()
    qtbot.waitExposed(dock)
    yield view, controller, tracks, keys, cat, dog
    project.close()


def test_the_selected_tracks_coefficients_with_its_empty_frames_said(panel, qtbot):
    view, _controller, tracks, _keys, cat, dog = panel
    tracks.tracks.select(cat)
    qtbot.waitUntil(lambda: view.data is not None and view.data.track_id == cat)
    assert view.title.text() == (
        f"Track {cat}, frames 0–3. No cached model output on 2 of its 4 frames (1, 3): left empty."
    )
    values = view.strip.values
    assert values.shape == (4, 4) and np.isnan(values[[1, 3]]).all()
    np.testing.assert_allclose(values[0], [0.8, 0.0, -0.4, 0.0], rtol=1e-6)  # blob_record's detection 0
    view.mode.setCurrentText(CONTRIBUTIONS)
    assert view.strip.limit == pytest.approx(float(np.nanmax(view.data.contributions)))
    assert (view.strip.values[[0, 2]] >= 0).all()
    tracks.tracks.select(dog)  # no cached run on any of its frames
    qtbot.waitUntil(lambda: view.data is not None and view.data.track_id == dog)
    assert "No cached model output on 2 of its 2 frames (2, 3)" in view.title.text()
    assert view.strip.values.shape == (0, 0)  # the strip says "No coefficients for this track"
    tracks.tracks.select(None)
    assert view.data is None and view.title.text().startswith("Select a track")


def test_a_click_on_the_strip_asks_for_that_frame_and_the_cursor_follows_the_timeline(panel, qtbot):
    view, controller, tracks, keys, cat, _dog = panel
    tracks.tracks.select(cat)
    qtbot.waitUntil(lambda: view.data is not None)
    tracks.timeline.scrub_to(2)
    assert view.strip.cursor == 2
    wanted = []
    controller.frame_wanted.connect(wanted.append)
    rect = view.strip.strip_rect()
    x = round(view.strip.frame_x(3.5))
    QTest.mouseClick(view.strip, Qt.MouseButton.LeftButton, pos=QPoint(x, rect.center().y()))
    assert wanted == [keys[3]]


def test_a_track_edit_reads_the_strip_again(panel, qtbot):
    view, _controller, tracks, _keys, cat, _dog = panel
    tracks.tracks.select(cat)
    qtbot.waitUntil(lambda: view.data is not None)
    project = tracks.project
    project.edit_tracks(lambda store: store.delete_track(cat, from_frame=2))
    qtbot.waitUntil(lambda: view.data is not None and len(view.data.frames) == 2)
    assert "1 of its 2 frames (1)" in view.title.text()


def test_new_model_output_for_a_frame_is_shown_reading_only_that_frame(panel, qtbot, monkeypatch):
    view, _controller, tracks, keys, cat, _dog = panel
    tracks.tracks.select(cat)
    qtbot.waitUntil(lambda: view.data is not None and view.data.missing == (1, 3))
    cache = tracks.project.inference
    reads = []
    get = cache.get
    monkeypatch.setattr(cache, "get", lambda name: reads.append(name) or get(name))
    (obj,) = [o for o in tracks.project.store.frame_objects(keys[1]) if o.track_id == cat]
    cache.put(ImageInference(keys[1], (blob_record(object_ids=(obj.id, NO_OBJECT)),)))  # a model run on frame 1
    qtbot.waitUntil(lambda: view.data is not None and view.data.missing == (3,))
    assert reads == [keys[1]]  # the other frames (with output or without) are remembered from the first read
