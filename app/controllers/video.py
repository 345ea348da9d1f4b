"""The project's videos and frame folders in the app: indexed and decoded (or, a folder's frames, read) on
workers, their frames recorded in the store, the timeline kept on the current frame."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QSignalBlocker, Qt, QThreadPool, Signal
from PySide6.QtWidgets import QDockWidget

from protolabel.app.docks.timeline import TimelineView
from protolabel.app.qt_bridge import MainThreadInvoker
from protolabel.segmentation.images import ImageReadError
from protolabel.segmentation.media.errors import VideoError
from protolabel.segmentation.media.frame_folder import (
    FrameFolderReader,
    FrameSequence,
    NotAFrameSequenceError,
    frame_sequences,
    is_frame_folder_path,
)
from protolabel.segmentation.media.frame_index import FrameIndex
from protolabel.segmentation.media.reader import VideoReader
from protolabel.segmentation.project.image_list import ImageList
from protolabel.segmentation.project.project import Project
from protolabel.segmentation.project.records import ImageStatus
from protolabel.segmentation.project.store import ProjectStoreError
from protolabel.segmentation.project.timeline import DEFAULT_RATE, Marker, Timeline
from protolabel.segmentation.project.video_index import open_project_video
from protolabel.segmentation.project.video_store import VideoStore, frame_key

logger = logging.getLogger(__name__)

Deliver = Callable[[np.ndarray | None, str | None], None]
Reader = VideoReader | FrameFolderReader
_MARKED = {ImageStatus.EDITED: Marker.EDITED, ImageStatus.VERIFIED: Marker.REVIEWED}


def frame_number(key: str) -> int:
    """The frame index of a frame key ("clip.mp4#000123" -> 123)."""
    return int(key.rpartition("#")[2])


class _Index(QRunnable):
    """Opens (hashes and indexes) one video, or lists a frame folder's frames and reads the first's size, on a
    worker and hands the reader or the reason to the UI thread."""

    def __init__(
        self,
        controller: VideoController,
        generation: int,
        video: str,
        frames: FrameSequence | None = None,
        size: tuple[int, int] | None = None,
    ) -> None:
        super().__init__()
        self.controller, self.generation, self.video = controller, generation, video
        self.frames, self.size = frames, size  # a frame folder: its frames, and the size the store recorded
        project = controller.project
        self.root = None if project is None else project.folder
        self.path = None if project is None else project.images.absolute(video)

    def run(self) -> None:
        reader: Reader | None = None
        error = None
        photos = None  # why a folder numbered like frames is a folder of photos after all
        try:
            reader = self._frame_folder() if is_frame_folder_path(self.video) else self._video_file()  # links refused
        except NotAFrameSequenceError as exc:
            photos = str(exc)
        except (ImageReadError, OSError) as exc:  # VideoError is an ImageReadError: damaged, empty, too large...
            error = str(exc)
        except Exception as exc:  # noqa: BLE001 a reader bug must not leave the video "indexing" for ever
            logger.exception("indexing %s failed", self.path)
            error = f"{self.path}: cannot be read ({exc})"
        try:
            if photos is not None:
                self.controller.invoker.call(self.controller._not_a_sequence, self.generation, self.video, photos)
            else:
                self.controller.invoker.call(self.controller._indexed, self.generation, self.video, reader, error)
        except RuntimeError:  # the window closed while indexing
            if reader is not None:
                reader.close()

    def _video_file(self) -> VideoReader:
        """The video on the index the project kept for it (hashed and indexed only when it changed)."""
        if self.root is None:
            raise VideoError(f"{self.video}: the folder was closed while the video was opened")
        return open_project_video(self.root, self.video)

    def _frame_folder(self) -> FrameFolderReader:
        if self.frames is None or self.root is None:
            raise VideoError(f"{self.video}: no longer a folder of numbered frames; open the folder again")
        return FrameFolderReader(self.root, self.frames, size=self.size)


class _Decode(QRunnable):
    """Decodes the newest frame request until none is left: requests the timeline overtook are never decoded."""

    def __init__(self, controller: VideoController) -> None:
        super().__init__()
        self.controller = controller

    def run(self) -> None:
        while (request := self.controller._take_request()) is not None:
            reader, index, deliver = request
            image, error = None, None
            try:
                image = reader.read(index)
            except (ImageReadError, IndexError, ValueError, OSError) as exc:
                error = str(exc)
            try:
                self.controller.invoker.call(deliver, image, error)
            except RuntimeError:
                return


class _ReadOnce(QRunnable):
    """Decodes one frame for a consumer that needs exactly that frame (a model run): never replaced by a newer
    request; on the decode pool, so it never reads the reader at the same time as the canvas's decodes."""

    def __init__(self, controller: VideoController, reader: Reader, index: int, deliver: Deliver) -> None:
        super().__init__()
        self.controller, self.reader, self.index, self.deliver = controller, reader, index, deliver

    def run(self) -> None:
        image, error = None, None
        try:
            image = self.reader.read(self.index)
        except (ImageReadError, IndexError, ValueError, OSError) as exc:
            error = str(exc)
        try:
            self.controller.invoker.call(self.deliver, image, error)
        except RuntimeError:  # the window closed while decoding
            return


class VideoController(QObject):
    """Indexes every video of the open project (one at a time, off the UI thread), records its frames in the
    store, decodes a frame when it is shown and keeps the timeline on the current frame's video."""

    message = Signal(str)
    error = Signal(str)
    video_shown = Signal(object)  # the video of the current frame, None on an image

    def __init__(self, timeline_view: TimelineView, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.invoker = MainThreadInvoker(self)
        self.view = timeline_view
        self.timeline = timeline_view.timeline
        self.project: Project | None = None
        self.readers: dict[str, Reader] = {}
        self.video: str | None = None  # the video on the timeline
        self.dock: QDockWidget | None = None  # the timeline's dock, when installed in a window
        self._generation = 0  # a project closed since a job started makes its result stale
        self._index_pool = QThreadPool(self)
        self._index_pool.setMaxThreadCount(1)  # one video hashed at a time: the disk is read end to end
        self._decode_pool = QThreadPool(self)
        self._decode_pool.setMaxThreadCount(1)
        self._lock = threading.Lock()
        self._request: tuple[Reader, int, Deliver] | None = None  # the newest frame not decoded yet
        self._decoding = False
        self._waiting: dict[str, tuple[str, Deliver]] = {}  # video -> (frame key, deliver) asked before indexed
        timeline_view.frame_wanted.connect(self._on_frame_wanted)

    # ---------------------------------------------------------------- project
    def open_project(self, project: Project) -> None:
        """Index the project's videos on a worker, in folder order."""
        self.close_project()
        self.project = project
        project.events.current_changed.connect(self._on_current)
        project.images.events.status_changed.connect(self._on_status)
        for video in project.images.sequences:
            self._index_pool.start(self._index_job(project, video))

    def _index_job(self, project: Project, video: str) -> _Index:
        if not is_frame_folder_path(video):
            return _Index(self, self._generation, video)
        frames = frame_sequences(project.images.sequences[video])  # as listed: one sequence
        store = project.store
        record = store.video(video) if isinstance(store, VideoStore) else None
        size = None if record is None else (record.width, record.height)
        return _Index(self, self._generation, video, frames[0] if frames else None, size)

    def close_project(self) -> None:
        self._generation += 1
        if self.project is not None:
            self.project.events.current_changed.disconnect(self._on_current)
            self.project.images.events.status_changed.disconnect(self._on_status)
        self.project = None
        with self._lock:
            self._request = None
        self._waiting.clear()
        self._decode_pool.waitForDone()  # a read under way ends before its reader closes
        readers, self.readers = self.readers, {}
        for reader in readers.values():
            reader.close()
        self._show_video(None)

    def shutdown(self) -> None:
        """Close the readers and wait for the workers (the window is closing)."""
        self.close_project()
        self._index_pool.clear()
        self._index_pool.waitForDone()
        self._decode_pool.waitForDone()

    def _indexed(self, generation: int, video: str, reader: Reader | None, error: str | None) -> None:
        """UI thread: a video was indexed; record it and its frames in the store and list them."""
        project = self.project
        if generation != self._generation or project is None:
            if reader is not None:
                reader.close()
            return
        waiting = self._waiting.pop(video, None)
        if reader is None and is_frame_folder_path(video):  # its files are still images: list them as such
            self._list_as_images(project, video, error or "cannot be read", waiting, failed=True)
            return
        if reader is None:
            self._refuse(project.images, video, error or "cannot be read", waiting)
            return
        try:
            if isinstance(reader, FrameFolderReader):
                keys, statuses = _record_folder(project.store, reader)
            else:
                keys, statuses = _record(project.store, video, reader.index)
        except (ProjectStoreError, ValueError) as exc:
            reader.close()
            if is_frame_folder_path(
                video
            ):  # e.g. frames renamed to another pattern: labels kept, files shown as images
                self._list_as_images(project, video, str(exc), waiting, failed=True)
            else:
                self._refuse(project.images, video, str(exc), waiting)
            return
        self.readers[video] = reader
        project.images.set_frames(video, keys, statuses)
        project.images.set_sequence_note(video, reader.note)
        if reader.note:
            self.message.emit(reader.note)
        else:
            self.message.emit(
                f"{video}: {len(keys):,} frames " + ("listed" if is_frame_folder_path(video) else "indexed")
            )
        if waiting is not None:
            self.request_frame(*waiting)
        if project.current_name is not None and project.images.sequence_of(project.current_name) == video:
            self._on_current(project.current_name)  # the frame shown waited for this: put it on the timeline

    def _not_a_sequence(self, generation: int, video: str, reason: str) -> None:
        """UI thread: a folder numbered like frames holds photos of different sizes: they stay loose images."""
        project = self.project
        if generation == self._generation and project is not None:
            self._list_as_images(project, video, reason, self._waiting.pop(video, None), failed=False)

    def _list_as_images(
        self, project: Project, video: str, reason: str, waiting: tuple[str, Deliver] | None, *, failed: bool
    ) -> None:
        """A folder listed as frames is not a sequence after all (photos of different sizes, or one the store
        refuses, e.g. frames renamed to another pattern): its files are listed as the loose images they are
        (labels stored under other names stay stored) and the reason said."""
        project.images.drop_frame_folder(video)
        (self.error if failed else self.message).emit(reason)
        if waiting is not None:  # the frame asked for is an image now: show it as one
            project.events.current_changed.emit(project.current_name)

    def _refuse(self, images: ImageList, video: str, reason: str, waiting: tuple[str, Deliver] | None) -> None:
        images.set_sequence_error(video, reason)
        self.error.emit(reason)
        if waiting is not None:
            waiting[1](None, reason)

    # ---------------------------------------------------------------- frames
    def request_frame(self, key: str, deliver: Deliver) -> None:
        """Decode frame `key` on the worker and call `deliver(image, error)` on the UI thread; a newer request
        before the worker got to this one replaces it."""
        project = self.project
        video = None if project is None else project.images.sequence_of(key)
        if project is None or video is None:
            deliver(None, f"{key} is not a frame of a video of this folder")
            return
        reader = self.readers.get(video)
        if reader is None:
            error = project.images.sequence_errors.get(video)
            if error is not None:
                deliver(None, error)
            else:
                self._waiting[video] = (key, deliver)  # shown once the video is indexed
                self.message.emit(f"Indexing {video}…")
            return
        with self._lock:
            self._request = (reader, self._position(project.images, key), deliver)
            start = not self._decoding
            self._decoding = True
        if start:
            self._decode_pool.start(_Decode(self))

    def read_frame(self, key: str, deliver: Deliver) -> None:
        """Decode frame `key` on the decode worker and call `deliver(image, error)` on the UI thread, even when the
        timeline asks for other frames meanwhile (a model run waits for exactly this frame's pixels)."""
        project = self.project
        video = None if project is None else project.images.sequence_of(key)
        reader = None if video is None else self.readers.get(video)
        if project is None or video is None:
            deliver(None, f"{key} is not a frame of a video of this folder")
        elif reader is None:
            deliver(None, project.images.sequence_errors.get(video) or f"{video} is still being indexed")
        else:
            self._decode_pool.start(_ReadOnce(self, reader, self._position(project.images, key), deliver))

    @staticmethod
    def _position(images: ImageList, key: str) -> int:
        """A frame's index: its place in its sequence (a frame folder's frame is its file, not a '#' key)."""
        position = images.frame_position(key)
        return frame_number(key) if position is None else position

    def _take_request(self) -> tuple[Reader, int, Deliver] | None:
        """Worker: the newest request, or None (and the worker ends)."""
        with self._lock:
            request, self._request = self._request, None
            if request is None:
                self._decoding = False
            return request

    # ---------------------------------------------------------------- timeline
    def _on_current(self, name: str | None) -> None:
        project = self.project
        video = None if project is None or name is None else project.images.sequence_of(name)
        if video is None or video not in self.readers:
            self._show_video(video if video is not None and video in self.readers else None)
            return
        self._show_video(video)
        index = self._position(project.images, name)  # type: ignore[union-attr,arg-type]  # a frame here
        if self.timeline.cursor != index and 0 <= index < self.timeline.frame_count:
            with QSignalBlocker(self.view):  # the project is already on this frame: no request back
                self.timeline.scrub_to(index)

    def _show_video(self, video: str | None) -> None:
        """Put a video on the timeline (its frame count, rate and markers); None clears it."""
        if video == self.video and (video is None or self.timeline.frame_count):
            return
        self.video = video
        reader = None if video is None else self.readers.get(video)
        with QSignalBlocker(self.view):
            if reader is None:
                self.timeline.set_video(0)
            elif isinstance(reader, FrameFolderReader):  # a folder has no clock
                self.timeline.set_video(len(reader), DEFAULT_RATE)
                self._update_markers()
            else:
                rate = reader.index.average_rate
                self.timeline.set_video(len(reader.index), float(rate) if rate else DEFAULT_RATE)
                self._update_markers()
        self.video_shown.emit(video)

    def _update_markers(self) -> None:
        project, video = self.project, self.video
        if project is None or video is None:
            return
        marked: dict[Marker, list[int]] = {Marker.EDITED: [], Marker.REVIEWED: [], Marker.UNREVIEWED: []}
        for position, key in enumerate(project.images.sequences.get(video, ())):
            status = project.images.status(key)
            kind = _MARKED.get(status, Marker.UNREVIEWED if status is ImageStatus.AUTO_LABELED else None)
            if kind is not None:
                marked[kind].append(position)
        for kind, frames in marked.items():
            self.timeline.set_markers(kind, frames)

    def _on_status(self, name: str, _status: object) -> None:
        if self.project is not None and self.video is not None and self.project.images.sequence_of(name) == self.video:
            self._update_markers()

    def _on_frame_wanted(self, index: int) -> None:
        """The timeline's cursor moved: show that frame (the file list and canvas follow the project)."""
        project, video = self.project, self.video
        if project is None or video is None:
            return
        keys = project.images.sequences.get(video, ())
        key = keys[index] if is_frame_folder_path(video) and 0 <= index < len(keys) else frame_key(video, index)
        if key in project.images:
            project.set_current(key)


def _record(store: object, video: str, index: FrameIndex) -> tuple[list[str], dict[str, ImageStatus]]:
    """Record a video and its frames in the store; its frame keys and their statuses."""
    if not isinstance(store, VideoStore):
        raise ProjectStoreError("this project's store has no videos (open the folder again)")
    record, keys = store.record_video(video, index)
    return keys, {f.key: f.status for f in store.frames(record.id)}


def _record_folder(store: object, reader: FrameFolderReader) -> tuple[list[str], dict[str, ImageStatus]]:
    """Record a frame folder and its frames in the store; its frame keys (its files) and their statuses."""
    if not isinstance(store, VideoStore):
        raise ProjectStoreError("this project's store has no videos (open the folder again)")
    record = store.record_sequence_folder(reader)
    frames = store.frames(record.id)
    return [f.key for f in frames], {f.key: f.status for f in frames}


def install_video(window: Any) -> VideoController:
    """Put the timeline dock under the canvas of a MainWindow and wire it to the project controller."""
    dock = QDockWidget("Timeline", window)
    dock.setObjectName("timeline_dock")
    view = TimelineView(Timeline(), dock)
    dock.setWidget(view)
    window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
    dock.hide()  # shown with the first video frame: a folder of photos has no use for it, nor room to spare
    window.view_menu.addAction(dock.toggleViewAction())
    controller = VideoController(view, window)
    projects = window.projects
    projects.frame_source = controller.request_frame
    inspector = getattr(window, "inspector", None)
    if inspector is not None:  # its model runs on a frame take the frame's decoded pixels
        inspector.frame_reader = controller.read_frame
    projects.project_opened.connect(controller.open_project)
    projects.project_closed.connect(controller.close_project)
    controller.message.connect(lambda text: window.statusBar().showMessage(text, 8000))
    controller.error.connect(window.show_error)
    controller.video_shown.connect(lambda video: video is not None and dock.show())
    controller.dock = dock
    return controller
