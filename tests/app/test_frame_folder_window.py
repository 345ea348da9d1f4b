"""A folder of numbered frames in the real main window: listed as a sequence, recorded into the store, its
frames read from their files onto the canvas and the timeline, auto-labelled into tracks; bad frames said."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt

from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus
from protolabel.segmentation.project.store import ProjectStore
from protolabel.segmentation.project.timeline import Marker
from tests.app.test_video_window import shown_stamp
from tests.segmentation.media.frame_folders import make_frame_folder
from tests.segmentation.project.conftest import make_square

NUMBERS = [1, 2, 3, 4, 5, 6, 10, 11, 12]  # 00007-00009 missing


@pytest.fixture
def frames_folder(tmp_path):
    folder = tmp_path / "shots"
    make_frame_folder(folder / "walk", NUMBERS)
    cv2.imwrite(str(folder / "photo.png"), np.full((64, 96, 3), 200, np.uint8))
    return folder


def open_listed(make_window, qtbot, folder, frames=9):
    window = make_window()
    shown = window.shown_images = []
    show = window.canvas.show_image

    def recorded(image, *args, **kwargs):
        shown.append(image)
        show(image, *args, **kwargs)

    window.canvas.show_image = recorded
    window.messages = []
    window.video.message.connect(window.messages.append)
    assert window.projects.open_folder(folder)
    window.projects.wait_for_scan()
    store = window.projects.project.store
    qtbot.waitUntil(lambda: store.video("walk/") is not None and len(store.frames(store.video("walk/").id)) == frames)
    return window


def test_a_frame_folder_is_one_sequence_read_from_its_files_on_the_timeline(make_window, qtbot, frames_folder):
    window = open_listed(make_window, qtbot, frames_folder)
    project = window.projects.project
    model = window.file_dock.model
    assert [model.name_at(r) for r in range(model.rowCount())] == ["photo.png", "walk/"]  # collapsed
    assert "walk/: frames 00007-00009 are missing" in window.messages  # said when it is listed
    tip = model.data(model.index(1), Qt.ItemDataRole.ToolTipRole)  # and kept on its row
    assert "frame folder, 9 frames" in tip and "walk/: frames 00007-00009 are missing" in tip
    keys = [f"walk/{n:05d}.png" for n in NUMBERS]
    assert project.images.sequences["walk/"] == tuple(keys)
    project.set_current("walk/00011.png")
    qtbot.waitUntil(lambda: shown_stamp(window) == 11)  # the pixels of that file
    timeline = window.video.timeline
    assert (timeline.frame_count, timeline.cursor) == (len(NUMBERS), keys.index("walk/00011.png"))
    timeline.step(-2)  # over the gap: the place before 00010 is 00006
    qtbot.waitUntil(lambda: project.current_name == "walk/00006.png" and shown_stamp(window) == 6)
    assert window.file_dock.model.row_of("walk/00006.png") is not None  # the list expanded to show it
    window.editing.polygon_drawn(np.array([(5.0, 5.0), (40.0, 5.0), (40.0, 30.0)]))
    assert project.store.frame("walk/00006.png").status is ImageStatus.EDITED
    assert timeline.markers(Marker.EDITED) == (keys.index("walk/00006.png"),)


def test_labels_made_on_the_frames_as_loose_images_are_the_sequences(make_window, qtbot, frames_folder):
    with ProjectStore.open(frames_folder) as store:  # a session before frame folders: loose images
        person = AnnotatedObject("person", make_square(5, 5), Provenance.VERIFIED)
        store.write_change("walk/00004.png", saved=[person], status=ImageStatus.VERIFIED)
    window = open_listed(make_window, qtbot, frames_folder)
    project = window.projects.project
    assert project.images.status("walk/00004.png") is ImageStatus.VERIFIED
    project.set_current("walk/00004.png")
    qtbot.waitUntil(lambda: shown_stamp(window) == 4)
    assert [o.label for o in project.current.objects] == ["person"]
    assert window.video.timeline.markers(Marker.REVIEWED) == (3,)


def test_bad_frames_are_said_by_name_and_their_labels_kept(make_window, qtbot, frames_folder):
    walk = frames_folder / "walk"
    window = open_listed(make_window, qtbot, frames_folder)  # recorded with its frames' size
    window.projects.project.store.write_change("walk/00003.png", saved=[AnnotatedObject("cat", make_square(5, 5))])
    window.projects.close()
    (walk / "00002.png").write_bytes(b"\x89PNG\r\n\x1a\n cut off")
    cv2.imwrite(str(walk / "00003.png"), np.zeros((20, 30, 3), np.uint8))  # another picture in its place
    outside = frames_folder.parent / "outside.png"
    (walk / "00004.png").rename(outside)
    (walk / "00004.png").symlink_to(outside)
    window = open_listed(make_window, qtbot, frames_folder)
    images = window.projects.project.images
    for key, said in [
        ("walk/00002.png", "not an image or the file is corrupt"),
        ("walk/00003.png", "is 30x20 pixels but the frames of walk/ are 96x64"),
        ("walk/00004.png", "a symbolic link, which is not followed here"),
    ]:
        window.projects.project.set_current(key)
        qtbot.waitUntil(lambda key=key: key in images.unreadable)
        assert said in images.unreadable[key]
    assert any("walk/00004.png is a link" in m for m in window.messages)
    assert [o.label for o in window.projects.project.store.frame_objects("walk/00003.png")] == ["cat"]
    window.projects.project.set_current("walk/00005.png")  # the others read on
    qtbot.waitUntil(lambda: shown_stamp(window) == 5)


def test_auto_label_this_video_on_a_frame_folder_makes_tracks(
    make_window, qtbot, tmp_path, resnet50_checkpoint, shared_engines
):
    folder = tmp_path / "short"
    make_frame_folder(folder / "walk", [0, 1, 3])
    make_frame_folder(folder / "walk", [2], name="{:05d}.png")
    window = make_window()
    window.projects.open_folder(folder)
    window.projects.wait_for_scan()
    project = window.projects.project
    assert "walk/" not in project.images.sequences  # four numbered images are photos, not a sequence
    window.projects.close()
    make_frame_folder(folder / "walk", [4])
    window = open_listed(make_window, qtbot, folder, frames=5)
    project, store = window.projects.project, window.projects.project.store
    person = AnnotatedObject("mine", make_square(10, 10), Provenance.EDITED)
    store.write_change("walk/00003.png", saved=[person])
    project.set_current("walk/00000.png")
    qtbot.waitUntil(lambda: window.video.video == "walk/")
    window.autolabel.engines = shared_engines
    window.options.weights, window.options.device = str(resnet50_checkpoint), "cpu"
    window.options.score_threshold, window.options.top_k = 0.0, 5
    window.actions_by_name["autolabel_video"].trigger()
    qtbot.waitUntil(lambda: not window.autolabel.busy, timeout=240_000)
    video = store.video("walk/")
    track_ids = {t.id for t in store.tracks(video.id)}
    auto = [o for n in range(5) for o in store.frame_objects(f"walk/{n:05d}.png") if o.provenance is Provenance.AUTO]
    assert auto and {o.track_id for o in auto} <= track_ids and None not in {o.track_id for o in auto}
    assert any(o.label == "mine" for o in store.frame_objects("walk/00003.png"))  # a person's object stays
    assert project.images.status("walk/00001.png") is ImageStatus.AUTO_LABELED
    assert window.tracks.tracks.rows  # the Tracks dock lists the run's tracks
    (row,) = [r for r in window.tracks.tracks.rows if r.length == max(r.length for r in window.tracks.tracks.rows)][:1]
    assert 0 <= row.first_frame <= row.last_frame < 5  # places on the timeline, not numbers in names


def test_photos_numbered_like_frames_but_of_two_sizes_stay_images(make_window, qtbot, tmp_path):
    folder = tmp_path / "camera"
    paths = make_frame_folder(folder / "DCIM", range(6), name="IMG_{:04d}.png")
    cv2.imwrite(str(paths[2]), cv2.imread(str(paths[2])).transpose(1, 0, 2))  # taken upright
    window = make_window()
    messages = []
    window.video.message.connect(messages.append)
    assert window.projects.open_folder(folder)
    window.projects.wait_for_scan()
    images = window.projects.project.images
    qtbot.waitUntil(lambda: "DCIM/" not in images.sequences)
    assert any("DCIM/: its images are not all one size" in m for m in messages)
    model = window.file_dock.model
    assert [model.name_at(r) for r in range(model.rowCount())] == [p.relative_to(folder).as_posix() for p in paths]
    assert images.sequence_of("DCIM/IMG_0002.png") is None
    assert window.projects.project.store.video("DCIM/") is None  # nothing recorded as a sequence


def test_frames_renamed_to_another_pattern_are_shown_as_images_and_the_old_labels_kept(
    make_window, qtbot, frames_folder
):
    window = open_listed(make_window, qtbot, frames_folder)
    window.projects.project.store.write_change("walk/00003.png", saved=[AnnotatedObject("cat", make_square(5, 5))])
    window.projects.close()
    walk = frames_folder / "walk"
    for n in NUMBERS:
        (walk / f"{n:05d}.png").rename(walk / f"frame_{n}.png")
    errors = []
    window.video.error.connect(errors.append)
    assert window.projects.open_folder(frames_folder)
    window.projects.wait_for_scan()
    project = window.projects.project
    qtbot.waitUntil(lambda: "walk/" not in project.images.sequences)
    assert any("walk/: its frames are named in another pattern" in e for e in errors)
    model = window.file_dock.model
    assert [model.name_at(r) for r in range(model.rowCount())][:2] == ["photo.png", "walk/frame_1.png"]
    project.set_current("walk/frame_3.png")  # a file of the folder, read as an image
    qtbot.waitUntil(lambda: shown_stamp(window) == 3)
    assert [o.label for o in project.store.objects("walk/00003.png")] == ["cat"]  # kept for when they are back
