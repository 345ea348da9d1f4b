"""Propagate a correction along its track, or interpolate between a track's keyframes, from the window.

The run (re-detecting frames with the model) goes on a worker thread with progress and Cancel in the status bar;
its result is written on the UI thread through `Project.edit_tracks`, as one step of the undo history.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QAction

from protolabel.app.controllers.track_selection import follow_selected_object
from protolabel.app.job_progress import JobProgressWidget
from protolabel.app.qt_bridge import MainThreadInvoker
from protolabel.app.undo import UndoHistory
from protolabel.segmentation.project.autolabel import AutoLabelOptions, EngineCache, JobProgress
from protolabel.segmentation.project.project import Project
from protolabel.segmentation.project.selection import Selection
from protolabel.segmentation.project.store import ProjectStoreError
from protolabel.segmentation.project.track_propagation import (
    PropagationCancelled,
    PropagationJob,
    TrackRun,
    summary,
)
from protolabel.segmentation.project.video_store import VideoStore

logger = logging.getLogger(__name__)


class _Run(QRunnable):
    """Runs one PropagationJob and hands its result, or why there is none, to the UI thread."""

    def __init__(self, controller: PropagationController, job: PropagationJob) -> None:
        super().__init__()
        self.controller, self.job = controller, job

    def run(self) -> None:
        result: TrackRun | None = None
        error: str | None = None
        try:
            result = self.job.run()
        except PropagationCancelled:
            pass
        except (ProjectStoreError, ValueError, OSError) as exc:
            error = str(exc)
        except Exception as exc:  # noqa: BLE001 a bug must not leave the controller busy for ever
            logger.exception("propagating track %s failed", self.job.track_id)
            error = f"Propagating track {self.job.track_id} failed: {exc}"
        try:
            self.controller.invoker.call(self.controller._finished, self.job, result, error)
        except RuntimeError:  # the window closed meanwhile
            pass


class PropagationController(QObject):
    """Starts a propagation or interpolation of the selected object's track and applies its result."""

    message = Signal(str)
    error = Signal(str)
    busy_changed = Signal(bool)

    def __init__(
        self,
        project: Callable[[], Project | None],
        selection: Selection,
        options: AutoLabelOptions,
        history: UndoHistory,
        progress: JobProgressWidget,
        engines: EngineCache,
        parent: QObject | None = None,
        *,
        busy_elsewhere: Callable[[], bool] = lambda: False,
    ) -> None:
        super().__init__(parent)
        self._project, self.selection, self.options, self.history = project, selection, options, history
        self.progress, self.engines, self._busy_elsewhere = progress, engines, busy_elsewhere
        self.invoker = MainThreadInvoker(self)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self.job: PropagationJob | None = None
        self._started = 0.0
        self.actions: tuple[QAction, QAction] | None = None  # (propagate, interpolate): enabled as they apply
        progress.cancel_requested.connect(self.cancel)

    @property
    def busy(self) -> bool:
        return self.job is not None

    def target(self) -> tuple[Project, str, int, int] | str:
        """(project, video, frame index, track id) of the selected object on the frame shown, or why there is none."""
        project = self._project()
        if project is None or project.current_name is None:
            return "Open a folder first"
        key = project.current_name
        video = project.images.sequence_of(key)
        if video is None or not isinstance(project.store, VideoStore):
            return "Show a frame of a video and select an object of a track first"
        document, selected = project.current, self.selection.single
        if document is None or selected is None or selected not in document:
            return "Select one object of a track first"
        track = document.get(selected).track_id
        if track is None:
            return "The selected object is not part of a track: label the video with Auto-label This Video first"
        index = project.images.frame_position(key)
        if index is None:
            return "Show a frame of a video and select an object of a track first"
        return project, video, index, track

    def propagate(self) -> None:
        """Carry the selected object's shape along its track by re-detecting each frame with the model."""
        self._start(interpolate=False)

    def interpolate(self) -> None:
        """Fill the frames between the track's two person-made frames around this one by interpolation."""
        self._start(interpolate=True)

    def _start(self, *, interpolate: bool) -> None:
        if self.busy:
            self.message.emit("A propagation is running: wait for it or cancel it")
            return
        if self._busy_elsewhere():
            self.message.emit("Auto-labeling is running: propagate when it is done")
            return
        target = self.target()
        if isinstance(target, str):
            self.message.emit(target)
            return
        project, video, frame, track = target
        settings = None
        if not interpolate:
            try:
                settings = self.options.settings(project.class_mapping)
            except ValueError as exc:
                self.error.emit(str(exc).capitalize())
                return
        job = PropagationJob(project.folder, video, track, frame, settings, self.engines, interpolate=interpolate)
        job.on_progress = self.invoker.wrap(self._on_progress)
        job.on_loading_model = self.invoker.wrap(self.progress.loading_model)
        self.job, self._started = job, time.monotonic()
        verb = "Interpolating" if interpolate else "Propagating"
        self.progress.start(1, f"{verb} track {track}…")
        self.message.emit(f"{verb} track {track} from frame {frame}")
        self.busy_changed.emit(True)
        self.update_actions()
        self._pool.start(_Run(self, job))

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.progress.cancelling()

    def shutdown(self) -> None:
        """Stop the run and wait for the worker (the window closes)."""
        if self.job is not None:
            self.job.cancel()
        self._pool.waitForDone(-1)

    def _on_progress(self, done: int, total: int) -> None:
        if self.job is None:
            return
        elapsed = time.monotonic() - self._started
        eta = elapsed / done * (total - done) if done else None
        self.progress.update_progress(JobProgress(done, total, 0, elapsed, eta, None))

    def _finished(self, job: PropagationJob, result: TrackRun | None, error: str | None) -> None:
        """On the UI thread: write the run's result as one undo step and say what it did."""
        if job is not self.job:
            return
        self.job = None
        self.progress.finish()
        self.busy_changed.emit(False)
        self.update_actions()
        project = self._project()
        if error is not None:
            self.error.emit(error)
            return
        if result is None:
            self.message.emit(f"Propagation of track {job.track_id} cancelled: nothing was changed")
            return
        if project is None or project.folder != job.folder:
            return  # another folder is open now: its tracks are not these
        try:
            edit = project.edit_tracks(result.write)
        except ProjectStoreError as exc:
            self.error.emit(str(exc))
            return
        if edit.objects_before or edit.objects_after:
            self.history.push_track_edit(project, edit)
        self.message.emit(summary(result, edit))

    def update_actions(self, *_args: Any) -> None:
        """Enable the actions where they apply: a tracked object selected, a model chosen (to propagate), idle."""
        if self.actions is None:
            return
        target = None if self.busy else self.target()
        tracked = target is not None and not isinstance(target, str)
        propagate, interpolate = self.actions
        propagate.setEnabled(tracked and bool(self.options.weights))
        interpolate.setEnabled(tracked)


def install_propagation(window: Any) -> PropagationController:
    """The controller behind the window's Propagate Correction and Interpolate Between Keyframes actions (after
    the Tracks dock's: selecting a tracked object selects its track there)."""
    controller = PropagationController(
        lambda: window.projects.project,
        window.selection,
        window.options,
        window.history,
        window.progress,
        window.autolabel.engines,  # one loaded model for auto-labelling and propagating
        window,
        busy_elsewhere=lambda: window.autolabel.busy,
    )
    controller.actions = (window.actions_by_name["propagate_track"], window.actions_by_name["interpolate_track"])
    controller.message.connect(lambda text: window.statusBar().showMessage(text, 15000))
    controller.error.connect(window.show_error)
    window.selection.events.changed.connect(controller.update_actions)
    window.projects.image_shown.connect(controller.update_actions)
    window.options.events.weights.connect(controller.update_actions)
    window.projects.project_closed.connect(controller.update_actions)
    # the track of the object to correct and propagate, shown on the timeline (bar and keyframes) when selected
    follow_selected_object(lambda: window.projects.project, window.selection, window.tracks.tracks)
    controller.update_actions()
    return controller
