"""The Tracks dock fed from the store's tracks of the video on the timeline; the selected track drawn on it."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt, Signal

from protolabel.app.docks.tracks import TracksDock
from protolabel.segmentation.project.image_list import ImageList
from protolabel.segmentation.project.project import Project
from protolabel.segmentation.project.records import ImageStatus
from protolabel.segmentation.project.store import ProjectStoreError
from protolabel.segmentation.project.timeline import Marker, Timeline
from protolabel.segmentation.project.track_list import TrackList, TrackRow
from protolabel.segmentation.project.video_store import VideoStore

_LOOKED_AT = (ImageStatus.EDITED, ImageStatus.VERIFIED)  # a person reviewed or edited the frame


def track_rows(store: VideoStore, images: ImageList, video: str) -> list[TrackRow]:
    """One row per track of the video with an object on some frame (an emptied track is not listed)."""
    record = store.video(video)
    if record is None:
        return []
    rows = []
    for track in store.tracks(record.id):
        objects = store.track_objects(track.id)
        if not objects:
            continue
        frames = sorted({o.frame_index for o in objects})
        reviewed = len({o.frame_key for o in objects if images.status(o.frame_key) in _LOOKED_AT})
        rows.append(TrackRow(track.id, track.label, frames[0], frames[-1], len(frames), reviewed))
    return rows


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
        tracks.events.selection_changed.connect(self._on_selected)

    def open_project(self, project: Project | None) -> None:
        if self.project is not None:
            self.project.events.objects_changed.disconnect(self._on_objects)
            self.project.images.events.status_changed.disconnect(self._on_status)
        self.project, self.video = project, None
        if project is not None:
            project.events.objects_changed.connect(self._on_objects)
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
        project, video = self.project, self.video
        store = None if project is None else project.store
        if project is None or video is None or not isinstance(store, VideoStore):
            self.tracks.set_rows(())
            return
        try:
            self.tracks.set_rows(track_rows(store, project.images, video))
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

    def _on_objects(self, name: str | None, _change: object) -> None:
        project = self.project
        if project is not None and (name is None or project.images.sequence_of(name) == self.video):
            self.refresh()

    def _on_status(self, name: str, _status: object) -> None:
        if self.project is not None and self.video is not None and self.project.images.sequence_of(name) == self.video:
            self.refresh()


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

    def go_to_first(track_id: int) -> None:
        key = controller.first_frame_key(track_id)
        if key is not None and window.projects.project is not None:
            window.projects.project.set_current(key)

    dock.track_activated.connect(go_to_first)
    return controller
