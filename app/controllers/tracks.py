"""The Tracks dock fed from the store's tracks of the video on the timeline; the selected track drawn on it.

The list is read in one store query (`VideoStore.track_summaries`). A track edit's `tracks_changed` re-reads
it at once; the frame events of a model run (hundreds of frames) start one short timer, and the list is read
once when it fires, however many frames changed meanwhile.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from protolabel.app.controllers.track_edits import TrackEditor, ask_class_dialog, confirm_dialog
from protolabel.app.docks.tracks import TracksDock
from protolabel.segmentation.project.project import Project
from protolabel.segmentation.project.store import ProjectStoreError
from protolabel.segmentation.project.timeline import Marker, Timeline
from protolabel.segmentation.project.track_list import TrackList, TrackRow
from protolabel.segmentation.project.video_store import VideoStore

REFRESH_DELAY_MS = 150  # frame events within this of the first are one refresh: a model run writes many a second


def track_rows(store: VideoStore, video: str) -> list[TrackRow]:
    """One row per track of the video with an object on some frame (an emptied track is not listed)."""
    record = store.video(video)
    if record is None:
        return []
    return [
        TrackRow(s.track_id, s.label, s.first_frame, s.last_frame, s.length, s.reviewed)
        for s in store.track_summaries(record.id)
    ]


class TracksController(QObject):
    """Keeps the Tracks dock on the tracks of the timeline's video and the timeline on the selected track."""

    error = Signal(str)
    frame_wanted = Signal(str)  # the key of a frame to show (a track's first frame)

    def __init__(self, tracks: TrackList, timeline: Timeline, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tracks = tracks
        self.timeline = timeline
        self.project: Project | None = None
        self.video: str | None = None
        self._pending = QTimer(self)  # coalesces frame events into one refresh
        self._pending.setSingleShot(True)
        self._pending.setInterval(REFRESH_DELAY_MS)
        self._pending.timeout.connect(self.refresh)
        tracks.events.selection_changed.connect(self._on_selected)

    def open_project(self, project: Project | None) -> None:
        if self.project is not None:
            self.project.events.objects_changed.disconnect(self._on_objects)
            self.project.events.tracks_changed.disconnect(self._on_tracks)
            self.project.images.events.status_changed.disconnect(self._on_status)
        self.project, self.video = project, None
        if project is not None:
            project.events.objects_changed.connect(self._on_objects)
            project.events.tracks_changed.connect(self._on_tracks)
            project.images.events.status_changed.connect(self._on_status)
        self.refresh()

    def show_video(self, video: str | None) -> None:
        """The timeline shows another video (None: an image): list its tracks."""
        if video != self.video:
            self.video = video
            self.tracks.select(None)
            self.refresh()

    def refresh(self) -> None:
        """Read the video's tracks from the store again (after an edit, a model run, an undo)."""
        self._pending.stop()
        project, video = self.project, self.video
        store = None if project is None else project.store
        if project is None or video is None or not isinstance(store, VideoStore):
            self.tracks.set_rows(())
            return
        try:
            self.tracks.set_rows(track_rows(store, video))
        except (ProjectStoreError, ValueError) as exc:
            self.tracks.set_rows(())
            self.error.emit(f"Cannot list the tracks of {video}: {exc}")
            return
        self._on_selected(self.tracks.selected)  # its frames or keyframes may have changed

    def first_frame_key(self, track_id: int) -> str | None:
        project = self.project
        if project is None or not isinstance(project.store, VideoStore):
            return None
        objects = project.store.track_objects(track_id)
        return objects[0].frame_key if objects else None

    def _on_selected(self, track_id: int | None) -> None:
        project = self.project
        if track_id is None or project is None or not isinstance(project.store, VideoStore):
            self.timeline.set_track(None, ())
            self.timeline.set_markers(Marker.KEYFRAME, ())
            return
        store = project.store
        count = self.timeline.frame_count
        frames = [o.frame_index for o in store.track_objects(track_id) if o.frame_index < count]
        self.timeline.set_track(track_id, frames)
        self.timeline.set_markers(Marker.KEYFRAME, [f for f in store.person_keyframes(track_id) if f < count])

    def refresh_soon(self) -> None:
        """Refresh once the current burst of frame events is over (a refresh already due covers this one)."""
        if not self._pending.isActive():
            self._pending.start()

    def _on_tracks(self, video: str) -> None:
        if video == self.video:
            self.refresh()

    def _on_objects(self, name: str | None, _change: object) -> None:
        project = self.project
        if project is not None and self.video is not None:
            if name is None or project.images.sequence_of(name) == self.video:
                self.refresh_soon()

    def _on_status(self, name: str, _status: object) -> None:
        if self.project is not None and self.video is not None and self.project.images.sequence_of(name) == self.video:
            self.refresh_soon()


def install_tracks(window: Any, video: Any) -> TracksController:
    """Put the Tracks dock beside the objects list and feed it from the video controller's video."""
    tracks = TrackList()
    dock = TracksDock(tracks, window)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    dock.hide()  # as the timeline: shown with the first video frame
    window.view_menu.addAction(dock.toggleViewAction())
    controller = TracksController(tracks, video.timeline, window)
    controller.dock = dock
    window.projects.project_opened.connect(controller.open_project)
    window.projects.project_closed.connect(lambda: controller.open_project(None))
    video.video_shown.connect(controller.show_video)
    video.video_shown.connect(lambda shown: shown is not None and dock.show())
    controller.error.connect(window.show_error)
    editor = controller.editor = TrackEditor(controller, window.history, window)
    editor.class_names = lambda: window.class_list.names
    editor.ask_class, editor.confirm = ask_class_dialog(window), confirm_dialog(window)
    commands = {
        "reclass": editor.reclass,
        "merge": editor.merge,
        "split": editor.split,
        "delete": editor.delete,
        "delete_from": lambda: editor.delete(from_cursor=True),
    }
    for name, command in commands.items():
        dock.actions[name].triggered.connect(lambda _checked=False, command=command: command())
    editor.error.connect(window.show_error)
    editor.message.connect(lambda text: window.statusBar().showMessage(text, 8000))

    def go_to_first(track_id: int) -> None:
        key = controller.first_frame_key(track_id)
        if key is not None and window.projects.project is not None:
            window.projects.project.set_current(key)

    dock.track_activated.connect(go_to_first)
    return controller
