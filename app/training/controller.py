"""Train on this project: export the chosen annotations, run `protolabel train` as a separate process
(QProcess), feed its output to the Qt-free RunMonitor, and act on the run (Cancel, Resume, use the model).

The UI thread never waits for the process: output arrives through readyRead signals, the end
through `finished`. The export runs on a worker thread with its own store connection.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QRunnable, QThreadPool, QTimer, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from protolabel.app.qt_bridge import MainThreadInvoker
from protolabel.app.training.dialog import TrainDialog
from protolabel.app.training.runs import format_size, removable_runs, remove_runs, training_dir
from protolabel.segmentation.backends.loading import is_onnx
from protolabel.segmentation.project.autolabel import AutoLabelOptions
from protolabel.segmentation.project.fine_tune import (
    NothingToTrainError,
    TrainingRequest,
    default_run_dir,
    export_training_set,
    process_environment,
)
from protolabel.segmentation.project.labels import ClassMapping
from protolabel.segmentation.project.project import Project
from protolabel.segmentation.project.records import ImageStatus
from protolabel.segmentation.project.store import ProjectStore
from protolabel.segmentation.training.run_monitor import RunMonitor, RunState

logger = logging.getLogger(__name__)

KILL_TIMEOUT_MS = 60_000  # after Cancel, the iteration in progress and the checkpoint may take this long


class _ExportTrainingSet(QRunnable):
    def __init__(self, request: TrainingRequest, on_done: Callable) -> None:
        super().__init__()
        self.request = request
        self.on_done = on_done

    def run(self) -> None:
        try:
            with ProjectStore.open(self.request.folder) as store:  # a worker thread gets its own connection
                summary = export_training_set(store, self.request)
        except (NothingToTrainError, ValueError) as exc:
            self.on_done(self.request, None, str(exc))
        except Exception as exc:  # disk full, permission denied, ...: say so, keep the app
            logger.exception("writing the training annotations failed")
            self.on_done(self.request, None, f"Cannot write the training annotations: {type(exc).__name__}: {exc}")
        else:
            self.on_done(self.request, summary, None)


class TrainingController(QObject):
    """Owns the training run of the window (one at a time) and its dialog."""

    message = Signal(str)
    error = Signal(str)
    model_used = Signal(str)  # the checkpoint path auto-labeling now uses
    dialog_visibility_changed = Signal(bool)

    def __init__(
        self, project: Callable[[], Project | None], options: AutoLabelOptions, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._project = project
        self.options = options
        self.monitor = RunMonitor()
        self.request: TrainingRequest | None = None
        self.process: QProcess | None = None
        self.exporting = False
        self.kill_timeout_ms = KILL_TIMEOUT_MS
        self.extra_environment: dict[str, str] = {}  # for the process (tests limit its threads)
        self.dialog: TrainDialog | None = None
        self.confirm: Callable[[str, str], bool] = self._ask  # (title, question) -> yes; tests answer it
        self._invoker = MainThreadInvoker(self)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._kill_timer = QTimer(self)
        self._kill_timer.setSingleShot(True)
        self._kill_timer.timeout.connect(self._kill)
        self.monitor.events.state.connect(self._on_state)

    @property
    def busy(self) -> bool:
        return self.exporting or self.monitor.state.active

    # ---------------------------------------------------------------- the dialog
    def show_dialog(self) -> TrainDialog | None:
        """Open the window: the settings for a new run, or the run in progress (or its result)."""
        project = self._project()
        if self.dialog is None:
            if project is None:
                self.error.emit("Open a folder first: training uses its annotations")
                return None
            self.dialog = self._make_dialog()
        page = self.dialog.settings_page
        stale = page.folder != project.folder if project is not None else False
        if not self.exporting and not self.dialog.showing_progress and (page.folder is None or stale):
            if not self.show_settings():
                return None
        elif not self.exporting and not self.dialog.isVisible():
            page.show_error("")  # a message from before the dialog was closed: the project may have changed since
        self.dialog.show()
        self.dialog.raise_()
        self.dialog.activateWindow()
        return self.dialog

    def _make_dialog(self) -> TrainDialog:
        parent = self.parent()
        dialog = TrainDialog(self.monitor, parent if isinstance(parent, QWidget) else None)
        dialog.settings_page.start_requested.connect(self.start)
        dialog.settings_page.cleanup_requested.connect(self.clean_up_runs)
        dialog.visibility_changed.connect(self.dialog_visibility_changed)
        view = dialog.progress_view
        view.cancel_requested.connect(self.cancel)
        view.resume_requested.connect(self.resume)
        view.use_model_requested.connect(self.use_model)
        view.new_run_requested.connect(self.show_settings)
        self.options.events.weights.connect(lambda weights: view.set_model_in_use(self._model_in_use()))
        return dialog

    def show_settings(self) -> bool:
        """Fresh settings for a new run of the open project (False when no folder is open)."""
        project = self._project()
        if project is None or self.busy:
            if project is None:
                self.error.emit("Open a folder first: training uses its annotations")
            return False
        counts = project.images.counts()
        labelled = sum(counts[s] for s in (ImageStatus.AUTO_LABELED, ImageStatus.EDITED, ImageStatus.VERIFIED))
        verified = project.images.verified_counts()
        start = "" if is_onnx(self.options.weights) else self.options.weights  # training needs a .pth
        self.dialog.settings_page.reset(
            project.folder,
            start,
            self.options.device,
            {"all": labelled, "verified": verified.images_with_objects, "verified_objects": verified.objects},
            default_run_dir(project.folder),
        )
        self.dialog.show_settings()
        return True

    # ---------------------------------------------------------------- the run
    def start(self, request: TrainingRequest) -> None:
        """Export the chosen annotations (worker thread), then start the training process."""
        if self.busy:
            self.error.emit("A training run is already in progress")
            return
        self.exporting = True
        if self.dialog is not None:
            self.dialog.settings_page.set_busy(True)
        self._pool.start(_ExportTrainingSet(request, self._invoker.wrap(self._on_exported)))

    def _on_exported(self, request: TrainingRequest, summary, problem: str | None) -> None:
        self.exporting = False
        if self.dialog is not None:
            self.dialog.settings_page.set_busy(False)
        if problem is not None:
            if self.dialog is not None and self.dialog.isVisible():
                self.dialog.settings_page.show_error(problem)
            else:
                self.error.emit(problem)
            return
        self.request = request
        self.message.emit(
            f"Training on {summary.annotations:,} objects in {summary.images:,} images ({request.run_dir})"
        )
        self._launch(resume=False)

    def _launch(self, *, resume: bool) -> None:
        request = self.request
        process = QProcess(self)
        environment = QProcessEnvironment()
        for key, value in process_environment({**os.environ, **self.extra_environment}).items():
            environment.insert(key, value)
        process.setProcessEnvironment(environment)
        process.setWorkingDirectory(str(request.run_dir))
        command = request.command(sys.executable, resume=resume)
        process.setProgram(command[0])
        process.setArguments(command[1:])
        process.readyReadStandardOutput.connect(
            lambda: self.monitor.feed_stdout(process.readAllStandardOutput().data())
        )
        process.readyReadStandardError.connect(lambda: self.monitor.feed_stderr(process.readAllStandardError().data()))
        process.errorOccurred.connect(lambda error: self._on_process_error(process, error))
        process.finished.connect(lambda code, status: self._on_finished(process, code, status))
        self.process = process
        self.monitor.begin(resume=resume)
        if self.dialog is not None:
            self.dialog.progress_view.set_model_in_use(False)
        process.start()

    def _on_process_error(self, process: QProcess, error: QProcess.ProcessError) -> None:
        if error is QProcess.ProcessError.FailedToStart:  # no `finished` follows
            self.process = None
            process.deleteLater()
            self.monitor.fail_to_start(f"Cannot start {process.program()}: {process.errorString()}")

    def _on_finished(self, process: QProcess, exit_code: int, status: QProcess.ExitStatus) -> None:
        self._kill_timer.stop()
        self.monitor.feed_stdout(process.readAllStandardOutput().data())
        self.monitor.feed_stderr(process.readAllStandardError().data())
        if self.process is process:
            self.process = None
        process.deleteLater()
        self.monitor.process_finished(exit_code, crashed=status is QProcess.ExitStatus.CrashExit)

    def cancel(self) -> None:
        """SIGTERM: the CLI stops after the current iteration and saves a checkpoint; kill after a timeout."""
        if self.process is None or self.monitor.state not in (RunState.STARTING, RunState.RUNNING):
            return
        self.monitor.request_stop()
        self.process.terminate()
        self._kill_timer.start(self.kill_timeout_ms)

    def _kill(self) -> None:
        if self.process is not None:
            self.message.emit("Training did not stop in time: killed (the last saved checkpoint still resumes)")
            self.process.kill()

    def resume(self) -> None:
        """Go on with a stopped run from its last checkpoint (`protolabel train --resume`)."""
        if self.request is None or self.busy or not self.monitor.can_resume:
            return
        self.message.emit(f"Resuming the training run in {self.request.run_dir}")
        self._launch(resume=True)

    def use_model(self) -> None:
        """Auto-label with the finished run's checkpoint. The project's class mapping was made for the old
        model's classes; the new model predicts the project's own labels, so the mapping is reset."""
        checkpoint = self.monitor.final_checkpoint
        if checkpoint is None or self.monitor.state is not RunState.FINISHED:
            return
        project = self._project()
        reset = project is not None and project.class_mapping != ClassMapping()
        if reset:
            project.set_class_mapping(ClassMapping())
        self.options.config = None  # the checkpoint's file name names its config
        self.options.weights = str(checkpoint)
        note = " (class filter and mapping reset: it predicts the project's labels)" if reset else ""
        self.message.emit(f"Auto-labeling now uses {checkpoint.name}{note}")
        self.model_used.emit(str(checkpoint))

    def clean_up_runs(self) -> int:
        """Delete the project's earlier training runs after a confirmation, keeping the run in progress and
        the one whose checkpoint auto-labeling uses; returns how many were deleted."""
        project = self._project()
        if project is None:
            return 0
        active = self.request.run_dir if self.request is not None and self.busy else None
        runs = removable_runs(project.folder, keep=(active, self.options.weights or None))
        if not runs:
            self.message.emit("No earlier training runs to clean up")
            if self.dialog is not None:
                self.dialog.settings_page.show_error("")
            return 0
        size = format_size(sum(r.size for r in runs))
        question = (
            f"Delete {len(runs)} earlier training run{'s' if len(runs) > 1 else ''} ({size}) in "
            f"{training_dir(project.folder)}?\n\nTheir checkpoints cannot be recovered. The run in progress "
            "and the model auto-labeling uses are kept."
        )
        if not self.confirm("Clean up training runs", question):
            return 0
        problems = remove_runs(project.folder, runs)
        deleted = len(runs) - len(problems)
        if problems:
            self.error.emit("Some training runs could not be deleted:\n" + "\n".join(problems))
        self.message.emit(f"Deleted {deleted} training run{'s' if deleted != 1 else ''}, freed about {size}")
        return deleted

    def _ask(self, title: str, question: str) -> bool:
        parent = self.dialog if self.dialog is not None else self.parent()
        answer = QMessageBox.question(
            parent if isinstance(parent, QWidget) else None,
            title,
            question,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _model_in_use(self) -> bool:
        checkpoint = self.monitor.final_checkpoint
        return checkpoint is not None and Path(self.options.weights or "") == checkpoint

    def _on_state(self, state: RunState) -> None:
        if self.dialog is not None and state is RunState.STARTING:
            self.dialog.show_progress()
        if self.dialog is not None:
            self.dialog.progress_view.set_model_in_use(self._model_in_use())
        m = self.monitor
        if state is RunState.FINISHED:
            result = m.final_evaluation
            ap = "" if result is None else (f": box AP {_percent(result.box_ap)}, mask AP {_percent(result.mask_ap)}")
            self.message.emit(
                f"Training finished{ap}. Its window (Auto-label ▸ Train on This Project…) switches "
                "auto-labeling to the new model"
            )
        elif state is RunState.STOPPED:
            self.message.emit(f"Training stopped at iteration {m.iteration:,}")
        elif state is RunState.FAILED:
            self.message.emit(f"Training failed: {m.error}")

    def shutdown(self) -> None:
        """The window closes: a running process is asked to stop (it saves a resumable checkpoint), then killed."""
        self._pool.waitForDone(-1)
        process = self.process
        if process is None:
            return
        self.monitor.request_stop()
        process.terminate()
        if not process.waitForFinished(self.kill_timeout_ms):
            process.kill()
            process.waitForFinished(5000)


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}"
