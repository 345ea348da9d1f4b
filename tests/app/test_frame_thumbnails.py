"""Thumbnails on the frame rows of the Images list: a video's frames decoded off the UI thread through one
reader, a frame folder's frames read from their files, a removed video shown as an error (and not retried),
requests for rows scrolled past dropped, and the readers closed when the list is reset."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtCore import QPoint
from PySide6.QtGui import QImage

from protolabel.app.docks.file_list import (
    ROW_HEIGHT,
    ChipRole,
    ErrorRole,
    FileListDock,
    ThumbnailLoader,
    ThumbRole,
)
from protolabel.segmentation.media.frame_folder import frame_sequences
from protolabel.segmentation.project.frame_thumbnails import FrameThumbnails, small_rgb
from protolabel.segmentation.project.image_list import ImageList
from protolabel.segmentation.project.records import ImageStatus
from protolabel.segmentation.project.video_index import open_project_video
from protolabel.segmentation.project.video_store import frame_key
from tests.segmentation.media.frame_folders import make_frame_folder
from tests.segmentation.media.videos import make_video, stamped_frames

FRAMES = 40
WALK = [1, 2, 3, 4, 5]


@pytest.fixture
def folder(tmp_path):
    """clip.mp4 (indexed, as the app leaves it once listed) and a frame folder walk/ of stamped frames."""
    make_video(tmp_path / "clip.mp4", FRAMES, gop=10)
    open_project_video(tmp_path, "clip.mp4").close()
    make_frame_folder(tmp_path / "walk", WALK)
    return tmp_path


class Calls(list):
    gate: threading.Event


@pytest.fixture
def decoded(monkeypatch):
    """The (video, index) of every frame thumbnail read; `decoded.gate` (set by default) holds the worker."""
    calls = Calls()
    gate = threading.Event()
    gate.set()
    real = FrameThumbnails.thumbnail

    def recorded(self, video, index):
        calls.append((video, index))
        assert gate.wait(10)
        return real(self, video, index)

    monkeypatch.setattr(FrameThumbnails, "thumbnail", recorded)
    calls.gate = gate
    return calls


def listed(folder) -> ImageList:
    walk = [f"walk/{n:05d}.png" for n in WALK]
    images = ImageList(folder, walk)
    images.add_frame_folders(frame_sequences(walk))
    images.add_sequences(["clip.mp4"])
    images.set_frames("clip.mp4", [frame_key("clip.mp4", i) for i in range(FRAMES)], {})
    return images


def make_dock(qtbot, images, rows=6) -> FileListDock:
    dock = FileListDock()
    qtbot.addWidget(dock, before_close_func=lambda dock: dock.model.loader.shutdown())
    dock.view.setFixedHeight(rows * ROW_HEIGHT + 2 * dock.view.frameWidth())
    dock.show()
    qtbot.waitExposed(dock)
    dock.set_images(images)
    return dock


def thumbnail(dock, name):
    model = dock.model
    return model.data(model.index(model.row_of(name)), ThumbRole)


def pixels(pixmap) -> np.ndarray:
    image = pixmap.toImage().convertToFormat(QImage.Format.Format_RGB888)
    w, h = image.width(), image.height()
    return np.frombuffer(image.constBits(), np.uint8).reshape(h, image.bytesPerLine())[:, : 3 * w].reshape(h, w, 3)


def test_frame_rows_of_a_video_and_of_a_frame_folder_get_their_thumbnails(qtbot, folder, decoded):
    images = listed(folder)
    images.set_expanded("clip.mp4", True)
    images.set_expanded("walk/", True)
    dock = make_dock(qtbot, images, rows=60)  # every row drawn
    dock.view.viewport().repaint()
    wanted = [frame_key("clip.mp4", 5), frame_key("clip.mp4", 30), "walk/00003.png"]
    qtbot.waitUntil(lambda: all(thumbnail(dock, name) is not None for name in wanted), timeout=10_000)
    source = stamped_frames(FRAMES)
    for name, number in zip(wanted, (5, 30, 3), strict=True):
        shown = pixels(thumbnail(dock, name)).astype(int)
        assert shown.shape == (27, 40, 3)
        own = np.abs(shown - small_rgb(source[number], 40)).mean()
        other = np.abs(shown - small_rgb(source[(number + 20) % FRAMES], 40)).mean()
        assert own < 12 and own < other / 2  # its own frame's picture (the video is lossy), not another's
    assert {video for video, _ in decoded} == {"clip.mp4"}  # the folder's frames are files, read as images
    model = dock.model
    assert model.data(model.index(model.row_of("clip.mp4")), ThumbRole) is None  # a sequence row has none
    thumbs = dock.model.loader._frames
    assert thumbs.open_videos() == ["clip.mp4"]
    dock.set_images(None)  # the folder closes: its readers close, off the UI thread
    qtbot.waitUntil(lambda: thumbs.open_videos() == [])


def test_a_removed_video_shows_the_error_chip_and_is_not_retried(qtbot, folder, decoded):
    images = listed(folder)
    images.set_expanded("clip.mp4", True)
    (folder / "clip.mp4").unlink()
    dock = make_dock(qtbot, images)
    model = dock.model
    first = model.index(model.row_of(frame_key("clip.mp4", 0)))
    dock.view.viewport().repaint()
    qtbot.waitUntil(lambda: first.data(ErrorRole) is not None, timeout=10_000)
    assert "clip.mp4: the file was removed after it was listed" in first.data(ErrorRole)
    assert first.data(ChipRole) == "unreadable"
    assert first.data(ThumbRole) is None
    qtbot.waitUntil(lambda: not dock.model.loader.pending())
    tries = len(decoded)
    for _ in range(3):
        dock.view.viewport().repaint()
        qtbot.wait(20)
    assert len(decoded) == tries and not dock.model.loader.pending()  # error rows ask no more
    assert dock.model.loader._frames.open_videos() == []


def test_requests_for_rows_scrolled_past_are_dropped_and_the_rest_read_in_order(qtbot, folder, decoded):
    images = listed(folder)
    images.set_expanded("clip.mp4", True)
    dock = make_dock(qtbot, images)
    decoded.gate.clear()  # the worker stops in the first frame it reads
    dock.view.viewport().repaint()
    qtbot.waitUntil(lambda: len(decoded) == 1)
    top = set(dock.model.loader.pending())
    assert len(top) >= 3  # the other rows on screen wait
    dock.view.scrollToBottom()
    dock.view.viewport().repaint()  # the rows on screen now ask
    bottom = set(dock.model.loader.pending())
    assert bottom and not bottom & top  # the rows scrolled past no longer wait
    decoded.gate.set()
    qtbot.waitUntil(lambda: all(thumbnail(dock, name) is not None for name in bottom), timeout=10_000)
    later = [index for _, index in decoded[1:]]
    assert later == sorted(later) and {frame_key("clip.mp4", i) for i in later} == bottom
    assert all(thumbnail(dock, name) is None for name in top)  # never decoded


def test_a_result_asked_before_the_list_was_reset_is_dropped(qtbot, folder):
    images = listed(folder)
    dock = make_dock(qtbot, images)
    old = dock.model.loader.generation
    dock.set_images(images)  # a reset
    dock.model.loader.failed.emit(old, "walk/00001.png", "from before")
    dock.model.loader.loaded.emit(old, "walk/00002.png", QImage(4, 4, QImage.Format.Format_RGB888))
    qtbot.wait(10)
    assert "walk/00001.png" not in images.unreadable
    assert "walk/00002.png" not in dock.model._thumbs


def test_a_row_changing_far_down_a_long_list_leaves_the_list_where_it_is(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(ThumbnailLoader, "request", lambda *args: None)  # no files: only the status changes
    names = [f"{i:04d}.png" for i in range(1200)]  # more than a layout batch (500 rows)
    dock = make_dock(qtbot, ImageList(tmp_path, names))
    bar = dock.view.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() >= 1100)  # laid out in batches
    maximum = bar.maximum()
    bar.setValue(1000)
    for name in names[1000:1005]:  # e.g. auto-label marking rows while a person reads them
        dock.images.set_status(name, ImageStatus.AUTO_LABELED)
        qtbot.wait(20)
    qtbot.wait(100)
    assert (bar.value(), bar.maximum()) == (1000, maximum)  # no jump back to the first batch
    first = dock.view.indexAt(QPoint(0, 0))
    assert dock.model.name_at(first.row()) == names[1000]
