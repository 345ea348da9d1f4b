"""A video in the project folder, in the real main window: listed as a sequence, indexed off the UI thread
into the store, its frames shown on the canvas and kept in step with the timeline and the file list."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest

from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.media.reader import VideoReader
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus
from protolabel.segmentation.project.timeline import Marker
from protolabel.segmentation.project.video_store import VideoStore, frame_key
from tests.segmentation.media.videos import make_video, read_stamp
from tests.segmentation.project.conftest import make_square

FRAMES = 24
SHORT = 4  # frames of the video a model runs on


@pytest.fixture
def video_folder(tmp_path):
    """clip.mp4 (24 stamped frames) between two photos, and a file that only calls itself a video."""
    folder = tmp_path / "footage"
    folder.mkdir()
    make_video(folder / "clip.mp4", FRAMES, gop=6)
    photo = cv2.imread(str(make_photo(tmp_path)))
    cv2.imwrite(str(folder / "a.png"), photo)
    cv2.imwrite(str(folder / "z.png"), photo)
    (folder / "broken.mkv").write_bytes(b"\x1a\x45\xdf\xa3 not really a video")
    return folder


def make_photo(tmp_path):
    from skimage import data

    path = tmp_path / "photo.png"
    cv2.imwrite(str(path), cv2.resize(data.coffee()[:, :, ::-1], (96, 64)))
    return path


def open_indexed(make_window, qtbot, folder):
    window = make_window()
    shown = window.shown_images = []
    show = window.canvas.show_image

    def recorded(image, *args, **kwargs):
        shown.append(image)
        show(image, *args, **kwargs)

    window.canvas.show_image = recorded
    assert window.projects.open_folder(folder)
    window.projects.wait_for_scan()
    images = window.projects.project.images
    qtbot.waitUntil(lambda: len(images.sequences["clip.mp4"]) == FRAMES and "broken.mkv" in images.sequence_errors)
    return window


def shown_stamp(window) -> int | None:
    """The frame number stamped into the picture the canvas shows now (None: no picture)."""
    image = window.shown_images[-1] if window.shown_images else None
    return None if image is None else read_stamp(image)


def test_video_is_listed_as_a_sequence_and_indexed_into_the_store(make_window, qtbot, video_folder):
    window = open_indexed(make_window, qtbot, video_folder)
    project = window.projects.project
    assert isinstance(project.store, VideoStore)
    (video,) = project.store.videos()
    assert (video.path, video.frame_count) == ("clip.mp4", FRAMES)
    assert [f.index for f in project.store.frames(video.id)] == list(range(FRAMES))
    model = window.file_dock.model
    rows = [model.name_at(r) for r in range(model.rowCount())]
    assert rows == ["a.png", "broken.mkv", "clip.mp4", "z.png"]  # collapsed: the videos' rows only
    assert "not a video" in project.images.sequence_errors["broken.mkv"]
    clip = model.index(rows.index("clip.mp4"))
    window.file_dock.view.clicked.emit(clip)  # expand
    rows = [model.name_at(r) for r in range(model.rowCount())]
    assert rows[3 : 3 + FRAMES] == [frame_key("clip.mp4", i) for i in range(FRAMES)]
    assert rows[-1] == "z.png"
    assert len(project.images) == 2 + FRAMES  # frames are images of the list: each has its status


def test_a_frame_is_decoded_and_shown_and_the_timeline_follows(make_window, qtbot, video_folder):
    window = open_indexed(make_window, qtbot, video_folder)
    project = window.projects.project
    project.set_current(frame_key("clip.mp4", 17))
    qtbot.waitUntil(lambda: shown_stamp(window) == 17)
    timeline = window.video.timeline
    assert (timeline.frame_count, timeline.cursor) == (FRAMES, 17)
    assert window.file_dock.model.row_of(frame_key("clip.mp4", 17)) is not None  # expanded to show it
    timeline.scrub_to(5)  # the timeline moves the project, the canvas and the list
    qtbot.waitUntil(lambda: project.current_name == frame_key("clip.mp4", 5) and shown_stamp(window) == 5)
    current = window.file_dock.view.currentIndex()
    assert window.file_dock.model.name_at(current.row()) == frame_key("clip.mp4", 5)


def test_only_the_newest_of_many_frame_requests_is_decoded(make_window, qtbot, video_folder, monkeypatch):
    window = open_indexed(make_window, qtbot, video_folder)
    project = window.projects.project
    project.set_current(frame_key("clip.mp4", 0))
    qtbot.waitUntil(lambda: shown_stamp(window) == 0)
    gate, read, decoded = threading.Event(), VideoReader.read, []

    def held_read(reader, index):
        if reader is window.video.readers["clip.mp4"]:  # the canvas's reader (the file list has its own)
            gate.wait(10)  # the worker holds the first request while the timeline fires the rest
            decoded.append(index)
        return read(reader, index)

    monkeypatch.setattr(VideoReader, "read", held_read)
    for i in range(1, FRAMES):  # a fast scrub: each request overtakes the last
        window.video.timeline.scrub_to(i)
    gate.set()
    qtbot.waitUntil(lambda: shown_stamp(window) == FRAMES - 1)
    assert decoded[-1] == FRAMES - 1
    assert len(decoded) <= 2  # the one under way when the scrub began, then the newest
    assert project.current_name == frame_key("clip.mp4", FRAMES - 1)


def test_objects_drawn_on_a_frame_are_that_frames_and_mark_the_timeline(make_window, qtbot, video_folder):
    window = open_indexed(make_window, qtbot, video_folder)
    project = window.projects.project
    key = frame_key("clip.mp4", 3)
    project.set_current(key)
    qtbot.waitUntil(lambda: shown_stamp(window) == 3)
    window.editing.polygon_drawn(np.array([(5.0, 5.0), (40.0, 5.0), (40.0, 30.0)]))
    (obj,) = project.store.frame_objects(key)
    assert obj.shape.polygons  # saved under the frame's key, through the ordinary edit path
    assert project.store.frame(key).status is ImageStatus.EDITED
    assert window.video.timeline.markers(Marker.EDITED) == (3,)
    window.history.undo()
    assert project.store.frame_objects(key) == []
    assert window.video.timeline.markers(Marker.EDITED) == ()


def test_reopening_lists_recorded_frames_with_their_status(make_window, qtbot, video_folder):
    window = open_indexed(make_window, qtbot, video_folder)
    store = window.projects.project.store
    store.set_frame_status(frame_key("clip.mp4", 2), ImageStatus.VERIFIED)
    window.projects.close()
    assert window.projects.open_folder(video_folder)
    window.projects.wait_for_scan()
    images = window.projects.project.images
    assert images.status(frame_key("clip.mp4", 2)) is ImageStatus.VERIFIED  # before indexing ends
    assert len(images.sequences["clip.mp4"]) == FRAMES


def test_tracks_dock_lists_the_videos_tracks_and_the_timeline_draws_the_selected_one(make_window, qtbot, video_folder):
    window = open_indexed(make_window, qtbot, video_folder)
    project = window.projects.project
    store = project.store
    (video,) = store.videos()
    cat = store.create_track(video.id, "cat").tracks_after[0]
    for i in range(2, 7):  # a model's track on frames 2-6, which a person corrected on frame 4
        provenance = Provenance.EDITED if i == 4 else Provenance.AUTO
        shape = make_square(5 + i, 5)
        tracked = AnnotatedObject("cat", shape, provenance, 0.9, track_id=cat.id)
        store.write_change(frame_key("clip.mp4", i), saved=[tracked])
    project.set_current(frame_key("clip.mp4", 3))
    qtbot.waitUntil(lambda: shown_stamp(window) == 3)
    tracks = window.tracks.tracks
    (row,) = tracks.rows
    assert (row.track_id, row.class_name, row.first_frame, row.last_frame, row.length) == (cat.id, "cat", 2, 6, 5)
    item = window.objects_dock.list.item(0)
    assert f"track {cat.id}" in item.text()  # the objects list says which track the object is of
    tracks.select(cat.id)
    timeline = window.video.timeline
    assert timeline.track_frames == (2, 3, 4, 5, 6)
    assert timeline.markers(Marker.KEYFRAME) == (4,)  # the frame a person made
    window.tracks.dock.track_activated.emit(cat.id)  # Enter on the row: the track's first frame
    qtbot.waitUntil(lambda: shown_stamp(window) == 2)
    assert timeline.cursor == 2
    project.set_current("a.png")  # an image: no video, no tracks
    assert tracks.rows == () and timeline.track_id is None


def test_auto_label_this_video_saves_each_frames_objects_with_track_ids(
    make_window, qtbot, tmp_path, resnet50_checkpoint, shared_engines
):
    folder = tmp_path / "short"
    folder.mkdir()
    make_video(folder / "clip.mp4", SHORT, gop=2)  # CPU inference per frame is the slow part: few frames
    window = make_window()
    window.projects.open_folder(folder)
    window.projects.wait_for_scan()
    qtbot.waitUntil(lambda: len(window.projects.project.images.sequences["clip.mp4"]) == SHORT)
    project = window.projects.project
    store = project.store
    reviewed, corrected = frame_key("clip.mp4", 2), frame_key("clip.mp4", 3)
    store.set_frame_status(reviewed, ImageStatus.VERIFIED)  # a person reviewed it empty: a run leaves it so
    person = AnnotatedObject("mine", make_square(10, 10), Provenance.EDITED)
    store.write_change(corrected, saved=[person])
    project.set_current(frame_key("clip.mp4", 0))
    qtbot.waitUntil(lambda: window.video.video == "clip.mp4")
    window.autolabel.engines = shared_engines
    window.options.weights, window.options.device = str(resnet50_checkpoint), "cpu"
    window.options.score_threshold, window.options.top_k = 0.0, 5
    window.actions_by_name["autolabel_video"].trigger()
    assert window.autolabel.busy
    qtbot.waitUntil(lambda: not window.autolabel.busy, timeout=240_000)
    (video,) = store.videos()
    track_ids = {t.id for t in store.tracks(video.id)}
    labelled = [frame_key("clip.mp4", i) for i in range(SHORT) if frame_key("clip.mp4", i) != reviewed]
    objects = {key: store.frame_objects(key) for key in labelled}
    auto = [o for key in labelled for o in objects[key] if o.provenance is Provenance.AUTO]
    assert auto and {o.track_id for o in auto} <= track_ids  # every model object is on a track of this video
    assert all(None not in {o.track_id for o in objects[key] if o.provenance is Provenance.AUTO} for key in labelled)
    assert store.frame_objects(reviewed) == [] and store.frame(reviewed).status is ImageStatus.VERIFIED
    assert any(o.label == "mine" and o.track_id is None for o in store.frame_objects(corrected))
    assert project.images.status(frame_key("clip.mp4", 1)) is ImageStatus.AUTO_LABELED  # the list follows
    assert window.tracks.tracks.rows  # the Tracks dock lists the run's tracks


def test_a_video_replaced_between_sessions_is_refused_and_its_labels_kept(make_window, qtbot, video_folder):
    window = open_indexed(make_window, qtbot, video_folder)
    key = frame_key("clip.mp4", 1)
    window.projects.project.store.write_change(key, saved=[AnnotatedObject("cat", make_square(5, 5))])
    window.projects.close()
    make_video(video_folder / "clip.mp4", FRAMES, gop=3)  # other bytes under the same name
    errors = []
    window.video.error.connect(errors.append)
    assert window.projects.open_folder(video_folder)
    window.projects.wait_for_scan()
    images = window.projects.project.images
    qtbot.waitUntil(lambda: "clip.mp4" in images.sequence_errors)
    assert "not the video this project labelled" in images.sequence_errors["clip.mp4"]
    assert any("clip.mp4 is not the video this project labelled" in e for e in errors)
    assert [o.label for o in window.projects.project.store.frame_objects(key)] == ["cat"]
    window.projects.project.set_current(key)  # its frames are listed from the store, but not shown from the new file
    qtbot.waitUntil(lambda: key in images.unreadable)


def test_image_auto_label_commands_leave_a_videos_frames_to_the_video_command(
    make_window, qtbot, video_folder, resnet50_checkpoint, shared_engines
):
    window = open_indexed(make_window, qtbot, video_folder)
    project = window.projects.project
    window.autolabel.engines = shared_engines
    window.options.weights, window.options.device = str(resnet50_checkpoint), "cpu"
    window.options.score_threshold, window.options.top_k = 0.0, 5
    messages = []
    window.autolabel.message.connect(messages.append)
    project.set_current(frame_key("clip.mp4", 0))
    window.actions_by_name["autolabel_image"].trigger()  # I on a frame
    assert not window.autolabel.busy and "Auto-label This Video" in messages[-1]
    window.actions_by_name["autolabel_all"].trigger()  # every unlabeled image: the two photos, not 24 frames
    qtbot.waitUntil(lambda: not window.autolabel.busy, timeout=240_000)
    assert "2 unlabeled images" in " ".join(messages)
    assert not [name for name in project.images.unreadable if project.images.sequence_of(name)]
    assert project.images.status(frame_key("clip.mp4", 1)) is ImageStatus.UNLABELED


def test_inspector_model_and_region_runs_on_a_frame_use_the_decoded_frame(
    make_window, qtbot, video_folder, resnet50_checkpoint, shared_engines, monkeypatch
):
    from protolabel.segmentation.inspection import region
    from tests.memo_engine import MemoEngine

    seen, cropped = [], []
    predict, predict_region = MemoEngine.predict, region.predict_region

    def spied(engine, images, settings=None):
        seen.extend(images)
        return predict(engine, images, settings)

    def spied_region(engine, image, *args, **kwargs):
        cropped.append(read_stamp(image))
        return predict_region(engine, image, *args, **kwargs)

    monkeypatch.setattr(MemoEngine, "predict", spied)
    monkeypatch.setattr(region, "predict_region", spied_region)
    window = open_indexed(make_window, qtbot, video_folder)
    project = window.projects.project
    window.autolabel.engines = shared_engines
    window.options.weights, window.options.device = str(resnet50_checkpoint), "cpu"
    window.options.score_threshold, window.options.top_k = 0.0, 5
    errors = []
    window.inspector.error.connect(errors.append)
    key = frame_key("clip.mp4", 5)
    project.set_current(key)
    qtbot.waitUntil(lambda: shown_stamp(window) == 5)
    window.inspector.run_model()  # "Run model on this image" on a frame: its pixels, not a file named clip.mp4#000005
    qtbot.waitUntil(lambda: window.inspector.running is None, timeout=240_000)
    assert errors == [] and [read_stamp(image) for image in seen] == [5]
    assert project.inference.get(key).image_record is not None  # the run is cached under the frame's key
    window.inspector.run_region((0, 0, 32, 32))  # the region re-detect crops the same decoded frame
    qtbot.waitUntil(lambda: window.inspector.running is None, timeout=240_000)
    assert errors == [] and cropped == [5] and sum(r.region for r in project.inference.get(key).records) == 1


def test_auto_label_this_video_after_a_cancel_resumes_where_it_stopped(
    make_window, qtbot, tmp_path, resnet50_checkpoint, shared_engines
):
    folder = tmp_path / "short"
    folder.mkdir()
    make_video(folder / "clip.mp4", SHORT, gop=2)
    window = make_window()
    window.projects.open_folder(folder)
    window.projects.wait_for_scan()
    qtbot.waitUntil(lambda: len(window.projects.project.images.sequences["clip.mp4"]) == SHORT)
    project, store = window.projects.project, window.projects.project.store
    project.set_current(frame_key("clip.mp4", 0))
    qtbot.waitUntil(lambda: window.video.video == "clip.mp4")
    window.autolabel.engines = shared_engines
    window.options.weights, window.options.device = str(resnet50_checkpoint), "cpu"
    window.options.score_threshold, window.options.top_k = 0.0, 5
    jobs = []
    submit = window.autolabel.queue.submit

    def submitted(job):
        if not jobs:  # the first run is cancelled on its worker once frame 0 is saved
            job.events.image_done.connect(lambda *_: job.cancel())
        jobs.append(job)
        submit(job)

    window.autolabel.queue.submit = submitted
    for _ in range(2):
        window.actions_by_name["autolabel_video"].trigger()
        qtbot.waitUntil(lambda: not window.autolabel.busy, timeout=240_000)
        if len(jobs) == 1:
            first = store.frame_objects(frame_key("clip.mp4", 0))
            assert first and [project.images.status(frame_key("clip.mp4", i)) for i in range(1, SHORT)] == [
                ImageStatus.UNLABELED
            ] * (SHORT - 1)
    assert jobs[1].names == [frame_key("clip.mp4", i) for i in range(1, SHORT)]  # progress counts the rest only
    assert [(o.id, o.track_id) for o in store.frame_objects(frame_key("clip.mp4", 0))] == [
        (o.id, o.track_id) for o in first
    ]
    assert {o.track_id for o in store.frame_objects(frame_key("clip.mp4", 1))} & {o.track_id for o in first}
    (video,) = store.videos()
    assert all(store.track_objects(t.id) for t in store.tracks(video.id))
    assert all(project.images.status(frame_key("clip.mp4", i)) is ImageStatus.AUTO_LABELED for i in range(SHORT))
