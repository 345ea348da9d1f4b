"""The selected track's model output over time, under the Tracks dock's table: its coefficients frame by
frame as a heat strip, or each prototype's contribution to its mask; frames without a cached model output
are left empty and listed. The cache files are read on a worker (one per frame); a click on the strip
shows that frame, and the timeline's cursor is drawn on it."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from protolabel.app.inspector.heat_strip import CoefficientStrip
from protolabel.app.qt_bridge import MainThreadInvoker
from protolabel.segmentation.inspection.state import COEFFICIENT_LIMIT
from protolabel.segmentation.project.store import ProjectStoreError
from protolabel.segmentation.project.track_strip import FrameKey, FrameOutput, TrackStrip, track_strip
from protolabel.segmentation.project.video_store import VideoStore, frame_key

COEFFICIENTS, CONTRIBUTIONS = "Coefficients", "Prototype contributions"
RELOAD_DELAY_MS = 400  # cache writes of a model run come per frame: one re-read after a burst
_SHOWN_MISSING = 8  # frames listed by number before "…"


def missing_text(strip: TrackStrip) -> str:
    """What the strip lacks, in words: every frame is there, or which are left empty."""
    if not strip.missing:
        return f"Model output cached for all {strip.objects:,} frames with an object."
    listed = ", ".join(f"{f:,}" for f in strip.missing[:_SHOWN_MISSING])
    more = ", …" if len(strip.missing) > _SHOWN_MISSING else ""
    count = f"{len(strip.missing):,} of its {strip.objects:,} frames"
    return f"No cached model output on {count} ({listed}{more}): left empty."


class TrackStripPanel(QWidget):
    """A title, the coefficients / contributions choice and the strip; shows what it is given."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("track_strip_panel")
        self.title = QLabel("Select a track to see its model output over time")
        self.title.setWordWrap(True)
        self.title.setToolTip(
            "The strip shows the model output kept for each frame. Run the model on a frame in the Prototype "
            "Inspector to keep it for that frame."
        )
        self.mode = QComboBox()
        self.mode.addItems([COEFFICIENTS, CONTRIBUTIONS])
        self.mode.setToolTip(
            "Coefficients: the model's coefficient of each prototype for the object, frame by frame (blue "
            "negative, red positive).\nPrototype contributions: how much each prototype adds to the object's "
            "mask on each frame (mean |coefficient × prototype| inside the mask)."
        )
        self.strip = CoefficientStrip()
        self.mode.currentTextChanged.connect(lambda _text: self._render())
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.mode)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addLayout(top)
        layout.addWidget(self.strip)
        layout.addStretch(1)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)  # the table takes the rest
        self.data: TrackStrip | None = None

    def show_strip(self, strip: TrackStrip | None, title: str) -> None:
        self.data = strip
        self.title.setText(title)
        self._render()

    def _render(self) -> None:
        self.updateGeometry()  # the strip's height follows the prototype count
        strip = self.data
        if strip is None or strip.coefficients.shape[1] == 0:
            self.strip.clear()
            return
        if self.mode.currentText() == COEFFICIENTS:
            self.strip.limit = COEFFICIENT_LIMIT
            self.strip.set_coefficients(strip.first_frame, strip.coefficients)
            return
        values = strip.contributions
        peak = float(np.nanmax(values)) if not np.isnan(values).all() else 0.0
        self.strip.limit = peak if peak > 0 else 1.0  # contributions are >= 0: the red half, to the largest
        self.strip.set_coefficients(strip.first_frame, values)


class TrackStripController(QObject):
    """Feeds the panel the selected track's strip, read off the UI thread; drops a read a newer one replaced."""

    frame_wanted = Signal(str)  # the key of a frame clicked on the strip

    def __init__(self, panel: TrackStripPanel, tracks: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.panel = panel
        self.source = tracks  # the TracksController: project, video, tracks, timeline
        self._invoker = MainThreadInvoker(self)
        self._generation = 0
        self._reload = QTimer(self)
        self._reload.setSingleShot(True)
        self._reload.setInterval(RELOAD_DELAY_MS)
        self._reload.timeout.connect(self.reload)
        self._project: Any = None
        # each frame's output read so far (only this thread changes it: a read works on a copy), and the
        # frames whose cached run changed while a read ran (its copy of them is old)
        self._memo: dict[FrameKey, FrameOutput] = {}
        self._dirty: set[str] = set()
        tracks.tracks.events.selection_changed.connect(lambda _track: self.reload())
        tracks.timeline.events.cursor_changed.connect(panel.strip.set_cursor)
        panel.strip.frame_clicked.connect(self._go_to)

    def open_project(self, project: Any) -> None:
        if self._project is not None:
            self._project.events.tracks_changed.disconnect(self._on_tracks)
            self._project.inference.events.stored.disconnect(self._on_stored)
        self._project = project
        self._memo.clear()
        if project is not None:
            project.events.tracks_changed.connect(self._on_tracks)
            project.inference.events.stored.connect(self._on_stored)
        self.reload()

    def reload(self) -> None:
        """Read the selected track's strip again (selection, a track edit, new model output)."""
        self._reload.stop()
        self._generation += 1
        project, track_id = self.source.project, self.source.tracks.selected
        store = None if project is None else project.store
        if track_id is None or not isinstance(store, VideoStore):
            self.panel.show_strip(None, "Select a track to see its model output over time")
            return
        try:
            objects = store.track_objects(track_id)  # one query, here: the store is this thread's
        except ProjectStoreError as exc:
            self.panel.show_strip(None, f"Track {track_id}: its objects cannot be read ({exc})")
            return
        if not objects:
            self.panel.show_strip(None, f"Track {track_id} has no object left")
            return
        self.panel.title.setText(f"Track {track_id}: reading the model output of {len(objects):,} frames…")
        generation, cache, memo = self._generation, project.inference, dict(self._memo)
        self._dirty = set()

        def read() -> None:
            try:
                strip: TrackStrip | None = track_strip(
                    objects, cache, track_id, stop=lambda: generation != self._generation, memo=memo
                )
                error = None
            except ValueError as exc:  # e.g. runs of two models with different prototype counts
                strip, error = None, str(exc)
            try:
                self._invoker.call(self._show, generation, track_id, strip, error, memo)
            except RuntimeError:  # the window closed while this read ran: nobody to show it to
                pass

        QThreadPool.globalInstance().start(read)

    def _show(
        self,
        generation: int,
        track_id: int,
        strip: TrackStrip | None,
        error: str | None,
        memo: dict[FrameKey, FrameOutput],
    ) -> None:
        if generation != self._generation:
            return  # a newer read is on its way
        self._memo = {key: output for key, output in memo.items() if key[0] not in self._dirty}
        if strip is None:
            self.panel.show_strip(None, f"Track {track_id}: {error}")
            return
        last = int(strip.frames[-1])
        title = f"Track {track_id}, frames {strip.first_frame:,}–{last:,}. {missing_text(strip)}"
        self.panel.show_strip(strip, title)
        self.panel.strip.set_cursor(self.source.timeline.cursor)

    def _on_tracks(self, video: str) -> None:
        if video == self.source.video:
            self.reload()

    def _on_stored(self, name: str) -> None:
        """A frame's model output was cached (in the writing thread): re-read once the burst is over."""
        self._invoker.call(self._stored_here, name)

    def _stored_here(self, name: str) -> None:
        self._dirty.add(name)
        for key in [k for k in self._memo if k[0] == name]:
            del self._memo[key]
        project = self._project
        if project is not None and self.source.tracks.selected is not None:
            if project.images.sequence_of(name) == self.source.video and not self._reload.isActive():
                self._reload.start()

    def _go_to(self, frame: int) -> None:
        if self.source.video is not None:
            self.frame_wanted.emit(frame_key(self.source.video, frame))


def install_track_strip(window: Any) -> TrackStripController:
    """Put the strip under the Tracks dock's table and feed it from the window's tracks controller."""
    panel = TrackStripPanel()
    window.tracks.dock.add_below(panel)
    controller = TrackStripController(panel, window.tracks, window)
    window.projects.project_opened.connect(controller.open_project)
    window.projects.project_closed.connect(lambda: controller.open_project(None))

    def show(key: str) -> None:
        project = window.projects.project
        if project is not None and key in project.images:
            project.set_current(key)

    controller.frame_wanted.connect(show)
    return controller
