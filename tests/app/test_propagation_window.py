"""Propagate Correction and Interpolate Between Keyframes in the real window: run on a worker, written as one
undo step, said in the status bar."""

from __future__ import annotations

import numpy as np
import pytest

from protolabel.segmentation.geometry.outlines import mask_to_shape
from protolabel.segmentation.geometry.overlap import mask_iou
from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.geometry.rasterise import shape_to_mask
from protolabel.segmentation.media.reader import VideoReader
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus
from protolabel.segmentation.project.video_store import VideoStore, frame_key
from tests.segmentation.media.videos import HEIGHT, WIDTH, make_video, read_stamp
from tests.segmentation.tracking.scenes import MovingDisc, detections_of, identity

FRAMES = 8
BALL = MovingDisc((20, 36), (7, 0), 9, identity(0))  # where the ball is on each frame of the clip


class StampEngine:
    """A model that finds the ball where it is on the frame whose number is stamped into the picture."""

    device = "cpu"

    def __init__(self) -> None:
        self.frames: list[int] = []

    def predict(self, images, _settings=None):
        out = []
        for image in images:
            t = read_stamp(image)
            self.frames.append(t)
            out.append(detections_of([BALL.mask(t, (HEIGHT, WIDTH))], [BALL.coefficients], size=(HEIGHT, WIDTH)))
        return out


def wrong(t: int):
    """The tracker's shape on frame t: the ball's from frame 3 on, 12 px too low (what a person corrects)."""
    return mask_to_shape(MovingDisc((20, 36 + (12 if t >= 3 else 0)), (7, 0), 9, identity(0)).mask(t, (HEIGHT, WIDTH)))


@pytest.fixture
def clip_folder(tmp_path):
    """clip.mp4 recorded in its project with track 'ball' on every frame, auto-labelled."""
    folder = tmp_path / "clip"
    folder.mkdir()
    make_video(folder / "clip.mp4", FRAMES, gop=4)
    with VideoReader(folder / "clip.mp4") as reader, VideoStore.open(folder) as store:
        video, keys = store.record_video("clip.mp4", reader.index)
        track = store.create_track(video.id, "ball").tracks_after[0].id
        for t, key in enumerate(keys):
            saved = [AnnotatedObject("ball", wrong(t), Provenance.AUTO, 0.8, track_id=track)]
            store.write_change(key, saved=saved, status=ImageStatus.AUTO_LABELED)
        store.set_setting("labels", ["ball"])
    return folder


def on_ball(project, t: int) -> bool:
    (obj,) = project.document(frame_key("clip.mp4", t)).objects
    return mask_iou(shape_to_mask(obj.shape, HEIGHT, WIDTH), BALL.mask(t, (HEIGHT, WIDTH))) > 0.9


def test_a_correction_is_propagated_on_a_worker_and_undone_in_one_step(make_window, qtbot, clip_folder):
    window = make_window()
    engine = StampEngine()
    window.autolabel.engines.get = lambda settings, on_load=None: engine
    assert window.projects.open_folder(clip_folder)
    window.projects.wait_for_scan()
    project = window.projects.project
    qtbot.waitUntil(lambda: len(project.images.sequences.get("clip.mp4", ())) == FRAMES)
    propagate, interpolate = window.actions_by_name["propagate_track"], window.actions_by_name["interpolate_track"]

    key = frame_key("clip.mp4", 4)
    project.set_current(key)
    qtbot.waitUntil(lambda: project.current_name == key)
    (obj,) = project.document(key).objects
    assert not propagate.isEnabled()  # nothing selected
    window.selection.set([obj.id])
    assert interpolate.isEnabled() and not propagate.isEnabled()  # no model chosen yet
    window.options.use_weights(str(clip_folder / "model.pth"))
    assert propagate.isEnabled()

    doc = project.document(key)
    window.history.push(key, doc, doc.apply(doc.edit_shape(obj.id, mask_to_shape(BALL.mask(4, (HEIGHT, WIDTH))))))
    assert project.store.person_keyframes(obj.track_id) == [4]  # the person's edit made frame 4 a keyframe
    before = [project.document(frame_key("clip.mp4", t)).objects for t in range(FRAMES)]

    propagate.trigger()
    assert window.propagation.busy and not propagate.isEnabled()
    qtbot.waitUntil(lambda: not window.propagation.busy, timeout=20000)
    assert window.last_error is None
    assert sorted(engine.frames) == [0, 1, 2, 3, 4, 5, 6, 7]  # every frame once (4: the identity under the correction)
    assert all(on_ball(project, t) for t in range(FRAMES))
    assert window.statusBar().currentMessage() == f"Track {obj.track_id}: 7 frames updated"
    assert window.actions_by_name["undo"].text() == f"&Undo Propagate track {obj.track_id} from frame 4"

    window.actions_by_name["undo"].trigger()
    assert [project.document(frame_key("clip.mp4", t)).objects for t in range(FRAMES)] == before
    window.actions_by_name["redo"].trigger()
    assert all(on_ball(project, t) for t in range(FRAMES))


def test_interpolation_without_a_second_keyframe_says_what_is_missing(make_window, qtbot, clip_folder):
    window = make_window()
    assert window.projects.open_folder(clip_folder)
    window.projects.wait_for_scan()
    project = window.projects.project
    qtbot.waitUntil(lambda: len(project.images.sequences.get("clip.mp4", ())) == FRAMES)
    key = frame_key("clip.mp4", 2)
    project.set_current(key)
    (obj,) = project.document(key).objects
    window.selection.set([obj.id])
    window.actions_by_name["interpolate_track"].trigger()
    qtbot.waitUntil(lambda: not window.propagation.busy, timeout=10000)
    assert "needs a person's shape on a frame before and one after frame 2" in (window.last_error or "")
    assert np.all([o.provenance is Provenance.AUTO for o in project.document(key).objects])


def test_selecting_a_tracked_object_on_the_canvas_shows_its_track_on_the_timeline(make_window, qtbot, clip_folder):
    from protolabel.segmentation.project.timeline import Marker

    window = make_window()
    assert window.projects.open_folder(clip_folder)
    window.projects.wait_for_scan()
    project = window.projects.project
    qtbot.waitUntil(lambda: len(project.images.sequences.get("clip.mp4", ())) == FRAMES)
    key = frame_key("clip.mp4", 5)
    project.set_current(key)
    tracks, timeline = window.tracks.tracks, window.video.timeline
    qtbot.waitUntil(lambda: bool(tracks.rows))  # the Tracks dock lists the video's track
    (obj,) = project.document(key).objects
    doc = project.document(key)  # a person's shape on frame 5: a keyframe marker
    window.history.push(key, doc, doc.apply(doc.edit_shape(obj.id, mask_to_shape(BALL.mask(5, (HEIGHT, WIDTH))))))
    assert tracks.selected is None and timeline.track_id is None

    window.selection.set([obj.id])  # a click on the object on the canvas
    assert tracks.selected == obj.track_id and timeline.track_id == obj.track_id
    assert timeline.track_frames == tuple(range(FRAMES)) and timeline.markers(Marker.KEYFRAME) == (5,)
    window.selection.clear()  # deselected: the track stays shown
    assert tracks.selected == obj.track_id
