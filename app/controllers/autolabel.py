"""Auto-labeling from the app: jobs run on a worker thread from a QThreadPool; results come back as events."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

import protolabel.segmentation.engine  # noqa: F401  imported here, not first in the worker: loading torch/torchvision C

# extensions holds the GIL for ~300 ms, which would freeze the UI during the first auto-label
from protolabel.app.job_progress import JobProgressWidget
from protolabel.app.qt_bridge import MainThreadInvoker
from protolabel.app.undo import ChangeCommand, UndoHistory
from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.project.autolabel import (
    AutoLabelJob,
    AutoLabelOptions,
    AutoLabelQueue,
    AutoLabelSettings,
    EngineCache,
    JobSummary,
)
from protolabel.segmentation.project.document import Change
from protolabel.segmentation.project.project import Project
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus
from protolabel.segmentation.project.store import AutoLabelOutcome
from protolabel.segmentation.project.video_autolabel import VideoAutoLabelJob, frames_to_label


def _unsaved(objects) -> tuple[AnnotatedObject, ...]:
    return tuple(o.with_changes(id=None, version=None) for o in objects)


class RelabelCommand(ChangeCommand):
    """An auto-label run that replaced an image's auto objects, as one undo step.

    The run wrote through the job's own store connection, so the objects it deleted cannot be brought
    back under their ids: undo inserts the old auto objects again as new rows (and deletes the run's),
    redo does the reverse. After each replay the command keeps the ids the store gave.
    """

    _redoing = True

    def redo(self) -> None:
        self._redoing = True
        super().redo()

    def undo(self) -> None:
        self._redoing = False
        super().undo()

    def _replayed(self, change: Change, applied: Change) -> None:
        if self._redoing:
            self._change = Change(
                change.text, _unsaved(change.before), applied.after, change.status_before, change.status_after
            )
        else:
            self._change = Change(
                change.text, applied.after, _unsaved(change.before), change.status_after, change.status_before
            )


class _QueueRunner(QRunnable):
    def __init__(self, queue: AutoLabelQueue) -> None:
        super().__init__()
        self.queue = queue

    def run(self) -> None:
        self.queue.run_pending()


class AutoLabelController(QObject):
    """Builds jobs from the options and the project, runs them off the UI thread, applies their results."""

    message = Signal(str)
    error = Signal(str)
    device_changed = Signal(str)
    busy_changed = Signal(bool)

    def __init__(
        self,
        options: AutoLabelOptions,
        project: Callable[[], Project | None],
        history: UndoHistory,
        progress: JobProgressWidget,
        parent: QObject | None = None,
        *,
        onnx_cache_dir: str | Path | None = None,
    ) -> None:
        """`onnx_cache_dir`: where a .pth run on an ONNX backend is exported once (the model cache's onnx/)."""
        super().__init__(parent)
        self.options = options
        self._project = project
        self.history = history
        self.progress = progress
        self.queue = AutoLabelQueue()
        self.engines = EngineCache(onnx_cache_dir)
        self._invoker = MainThreadInvoker(self)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)  # one inference at a time; the UI thread never runs one
        self._running = False
        # Asked before I runs on an image with objects: (auto objects, others) -> go on? None: never asks.
        self.confirm_relabel: Callable[[int, int], bool] | None = None
        self.queue.events.idle.connect(self._invoker.wrap(self._on_idle))
        progress.cancel_requested.connect(self.cancel)

    @property
    def busy(self) -> bool:
        """True until the UI thread has received every result of the running jobs (not only until the
        worker is done: its last events are still queued for this thread then)."""
        return self._running

    def label_current(self) -> None:
        """Run the model on the image shown; when it has objects a run would replace or keep, ask first."""
        project = self._project()
        if project is None or project.current_name is None:
            self.message.emit("Open a folder first")
            return
        if project.images.sequence_of(project.current_name) is not None:  # a frame has no file of its own to read
            self.message.emit("A video's frames are labelled together, as tracks: use Auto-label This Video")
            return
        document = project.current
        if (
            self.confirm_relabel is not None
            and document is not None
            and len(document)
            and project.images.status(project.current_name) is not ImageStatus.VERIFIED
        ):  # a verified one is left alone
            if self._settings(project) is None:
                return  # no usable model: say so before asking about a run that cannot start
            auto = sum(1 for o in document.objects if o.provenance is Provenance.AUTO)
            if not self.confirm_relabel(auto, len(document) - auto):
                return
        self._submit([project.current_name], "this image")

    def label_unlabeled(self) -> None:
        project = self._project()
        if project is None:
            self.message.emit("Open a folder first")
            return
        names = [
            n
            for n in project.unlabeled_names()
            if n not in project.images.unreadable and project.images.sequence_of(n) is None  # frames: by video
        ]
        if not names:
            self.message.emit("Every image is already labelled")
            return
        self._submit(names, f"{len(names):,} unlabeled images")

    def label_video(self, video: str | None) -> None:
        """Run the model on the frames of a video not labelled yet, joining its detections into tracks (reviewed
        frames and a person's objects are left alone; a run after a cancel continues where it stopped)."""
        project = self._project()
        if project is None or video is None:
            self.message.emit("Show a frame of a video first")
            return
        frames = project.images.sequences.get(video, ())
        if not frames:
            reason = project.images.sequence_errors.get(video)
            self.message.emit(f"{video} cannot be read: {reason}" if reason else f"{video} is still being indexed")
            return
        settings = self._settings(project)
        if settings is None:
            return
        todo = frames_to_label([project.images.status(key) for key in frames])
        if not todo:
            self.message.emit(f"Every frame of {video} is labelled already: nothing to run")
            return
        job = VideoAutoLabelJob(project.folder, video, todo, settings, self.engines, inference_cache=project.inference)
        done = len(frames) - len(todo)
        what = f"{video} ({len(todo):,} frames" + (f", {done:,} labelled already)" if done else ")")
        self._run(job, project, what)

    def _settings(self, project: Project) -> AutoLabelSettings | None:
        """The run's settings, or None with the reason said (no model chosen, a bad option)."""
        try:
            return self.options.settings(project.class_mapping)
        except ValueError as exc:
            self.error.emit(str(exc).capitalize())
            return None

    def _submit(self, names: list[str], what: str) -> None:
        project = self._project()
        settings = self._settings(project)
        if settings is None:
            return
        job = AutoLabelJob(project.folder, names, settings, self.engines, inference_cache=project.inference)
        self._run(job, project, what)

    def _run(self, job: AutoLabelJob, project: Project, what: str) -> None:
        """Queue a job: its progress in the status bar, its results applied on this thread as they come."""
        names, settings = job.names, job.settings
        wrap = self._invoker.wrap
        job.events.started.connect(wrap(self.progress.start))
        job.events.loading_model.connect(wrap(self.progress.loading_model))
        job.events.engine_ready.connect(wrap(self.device_changed.emit))
        job.events.progress.connect(wrap(self.progress.update_progress))
        job.events.image_done.connect(
            wrap(lambda name, outcome, folder=project.folder: self._on_done(folder, name, outcome))
        )
        job.events.image_failed.connect(
            wrap(lambda name, reason, folder=project.folder: self._on_failed(folder, name, reason))
        )
        job.events.finished.connect(wrap(lambda summary: self._on_finished(summary, what)))
        self.queue.submit(job)
        if not self._running:
            self.progress.start(len(names))
        self.message.emit(f"Auto-labeling {what} with {settings.weights.name}")
        if not self._running:
            self._running = True
            self.busy_changed.emit(True)
            self._pool.start(_QueueRunner(self.queue))

    def cancel(self) -> None:
        if self.queue.busy:
            self.queue.cancel_all()
            self.progress.cancelling()

    def shutdown(self) -> None:
        """Stop jobs and wait for the worker (called when the window closes)."""
        self.queue.cancel_all()
        self._pool.waitForDone(-1)

    # ---------------------------------------------------------------- results (UI thread)
    def _current_project(self, folder) -> Project | None:
        project = self._project()
        return project if project is not None and project.folder == folder else None

    def _on_done(self, folder, name: str, outcome: AutoLabelOutcome) -> None:
        project = self._current_project(folder)
        if project is None:
            return
        document = project.current if project.current_name == name else None  # the image on screen
        old = [] if document is None else [o for o in document.objects if o.provenance is Provenance.AUTO]
        had_objects = document is not None and len(document) > 0
        status_before = project.images.status(name)
        if not outcome.skipped:
            self.history.forget(name)  # its objects were replaced: old undo steps no longer apply
        project.record_auto_label(name, outcome)
        if had_objects and not outcome.skipped and document is not None and document.damaged is None:
            # labelling an image with objects again (replacing its auto objects, or adding to a person's): one
            # undoable step instead of a silent change
            new = tuple(document.get(i) for i in outcome.object_ids if i in document)
            text = (
                f"Auto-label ({len(old)} auto objects replaced by {len(new)})"
                if old
                else f"Auto-label ({len(new)} objects added)"
            )
            change = Change(text, _unsaved(old), new, status_before, outcome.status)
            self.history.stack(name).push(RelabelCommand(document, change, self.error.emit))

    def _on_failed(self, folder, name: str, reason: str) -> None:
        project = self._current_project(folder)
        if project is not None and not reason.startswith("inference failed"):
            project.images.mark_unreadable(name, reason)
        self.message.emit(f"Skipped {name}: {reason}")

    def _on_finished(self, summary: JobSummary, what: str) -> None:
        if summary.error:
            self.error.emit(f"Auto-labeling could not start: {summary.error}")
            return
        parts = [f"{summary.labelled} labelled"]
        if summary.skipped:
            parts.append(f"{summary.skipped} verified left alone")
        if summary.failed:
            parts.append(f"{summary.failed} failed")
        state = "cancelled" if summary.cancelled else "done"
        self.message.emit(f"Auto-labeling {what} {state} in {summary.elapsed_s:.1f} s: " + ", ".join(parts))

    def _on_idle(self) -> None:
        self._running = False
        self.progress.finish()
        self.busy_changed.emit(False)
