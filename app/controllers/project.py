"""Opening folders and showing the current image: the project's lifecycle in the app."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QSettings, QThreadPool, Signal
from PySide6.QtWidgets import QMessageBox

from protolabel.app.canvas.view import CanvasView
from protolabel.app.controllers.read_ahead import ImageReadAhead
from protolabel.app.qt_bridge import MainThreadInvoker
from protolabel.app.undo import UndoHistory
from protolabel.segmentation.folders import is_image_name, walk_folder
from protolabel.segmentation.images import ImageReadError, read_image
from protolabel.segmentation.media.reader import is_video_name
from protolabel.segmentation.project.lock import FolderLock, FolderLockedError
from protolabel.segmentation.project.project import Project
from protolabel.segmentation.project.session import Session
from protolabel.segmentation.project.store import (
    DamagedProjectError,
    ProjectStore,
    ProjectStoreError,
    set_aside_damaged,
)
from protolabel.segmentation.project.video_store import VideoStore
from protolabel.segmentation.project_files import ProjectFileError

logger = logging.getLogger(__name__)

RECENT_KEY = "recent_folders"
MAX_RECENT = 10
SCAN_GRACE_S = 0.5  # a folder walk that ends this soon opens the project before open_folder returns
SYNC_READ_MAX_BYTES = 1_000_000  # smaller files decode in a few ms; larger ones are read in the thread pool
# The UI thread's store waits this long for another program's lock, then the edit is refused with a
# message (the window never freezes for seconds); worker threads open their own, more patient stores.
UI_STORE_TIMEOUT_S = 0.25


def _read(path: Path) -> tuple[np.ndarray | None, str | None]:
    """(image, None) or (None, reason): safe to call from any thread."""
    try:
        return read_image(path), None
    except ImageReadError as exc:
        return None, str(exc)


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _is_listed(name: str) -> bool:
    """Images, and videos (listed as sequences of frames)."""
    return is_image_name(name) or is_video_name(name)


# (frame key, deliver(image, error)): decodes the frame off the UI thread and calls deliver on the UI thread
FrameSource = Callable[[str, Callable[[np.ndarray | None, str | None], None]], None]


class _FolderScan(QRunnable):
    """Walks a folder's images on a worker thread; the UI thread reads the result once `done` is set."""

    def __init__(self, store: ProjectStore, invoker: MainThreadInvoker, report: Callable[[str], None]) -> None:
        super().__init__()
        self.setAutoDelete(False)  # the UI thread reads the result after run() returns
        self.store = store  # opened (and only used) on the UI thread
        self.lock: FolderLock | None = None  # the folder's writer lock, taken with the store
        self.folder = store.folder
        self.names: list[str] | None = None
        self.walk_left_out: tuple[tuple[str, str], ...] = ()  # (name, why) of what the walk skipped
        self.error: str | None = None
        self.done = threading.Event()
        self.on_done: Callable[[_FolderScan], object] | None = None  # set when open_folder stopped waiting
        self.delivered = False  # the UI thread has taken the result (UI thread only)
        self._cancelled = threading.Event()
        self._invoker = invoker
        self._report_text = report

    def cancel(self) -> None:
        self._cancelled.set()

    def _progress(self, entries: int) -> None:
        if self._cancelled.is_set():
            raise _ScanCancelled
        if self.on_done is not None:
            self._invoker.call(self._report, entries)

    def _report(self, entries: int) -> None:
        if not self._cancelled.is_set():
            self._report_text(f"Scanning {self.folder}: {entries:,} files and folders read…")

    def run(self) -> None:
        try:
            walk = walk_folder(self.folder, keep=_is_listed, progress=self._progress)
            self.names, self.walk_left_out = list(walk.names), walk.left_out
        except _ScanCancelled:
            self.error = "cancelled"
        except Exception as exc:  # noqa: BLE001 the folder vanished or cannot be listed: a message, not a crash
            logger.exception("listing the folder failed")
            self.error = str(exc)
        self.done.set()
        try:
            self._invoker.call(self._deliver)
        except RuntimeError:  # the window was closed while the walk ran: nobody is left to tell
            pass

    def _deliver(self) -> None:
        """UI thread: hand the result over if open_folder stopped waiting (it closes a replaced scan's store)."""
        if self.on_done is not None:
            self.on_done(self)


class _ScanCancelled(Exception):
    pass


class ProjectController(QObject):
    """Owns the open Project; shows its current image on the canvas."""

    project_opened = Signal(object)  # Project
    project_closed = Signal()
    scan_started = Signal(str)  # folder being walked on a worker thread (a large folder)
    image_shown = Signal(object)  # name or None
    message = Signal(str)
    error = Signal(str)

    def __init__(
        self,
        canvas: CanvasView,
        session: Session,
        history: UndoHistory,
        settings: QSettings,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.canvas = canvas
        self.session = session
        self.selection = session.selection
        self.history = history
        self.settings = settings
        self._lock: FolderLock | None = None  # the open project's writer lock: one window writes a folder
        self._invoker = MainThreadInvoker(self)
        self._request = 0  # the newest image request; a slower, older read is dropped
        self._read_ahead = ImageReadAhead(_read, self._invoker, QThreadPool(self))  # the shown image's neighbours
        self._scans = QThreadPool(self)  # folder walks (the UI thread never walks a folder)
        self._scan: _FolderScan | None = None  # the walk whose project opens when it ends
        self._live_scans: set[_FolderScan] = set()
        self.frame_source: FrameSource | None = None  # decodes video frames (set by the window)

    @property
    def project(self) -> Project | None:
        """The open project: the session's, which only this controller writes."""
        return self.session.project

    # ---------------------------------------------------------------- folders
    def open_folder(self, folder: str | Path) -> bool:
        """Open a folder; a read-only, locked or damaged store gives a message, and the current project stays open.

        The folder is walked on a worker thread. A walk that ends within SCAN_GRACE_S opens the
        project before this returns (so an ordinary folder opens as if synchronously); a longer one
        reports progress through `message` and opens the project when it ends. Returns False when
        the folder cannot be opened at all, True when it is open or being scanned.
        """
        folder = Path(folder).expanduser()
        store = self._open_store(folder)
        if store is None:
            return False
        lock = self._take_lock(store)
        if lock is None:
            return False
        self._cancel_scan()
        scan = _FolderScan(store, self._invoker, self.message.emit)
        scan.lock = lock
        self._scan = scan
        self._live_scans.add(scan)  # the Python object must outlive its run on the worker thread
        self._scans.start(scan)
        if scan.done.wait(SCAN_GRACE_S):
            return self._finish_scan(scan)
        self.message.emit(f"Scanning {store.folder}…")
        self.scan_started.emit(str(store.folder))
        scan.on_done = self._finish_scan  # the worker hands the result to the UI thread
        if scan.done.is_set():  # it ended between the wait and the line above
            scan.on_done = None
            return self._finish_scan(scan)
        return True

    @property
    def scanning(self) -> bool:
        """A folder walk is running; its project opens when it ends."""
        return self._scan is not None

    def wait_for_scan(self, timeout_ms: int = -1) -> None:
        """Block until the running walk ends and open its project now (benchmarks, scripts, shutdown)."""
        self._scans.waitForDone(timeout_ms)
        scan = self._scan
        if scan is not None and scan.done.is_set():
            self._finish_scan(scan)

    def _open_store(self, folder: Path) -> ProjectStore | None:
        """The folder's store, after asking to start over if project.db is damaged; None (error shown) if it cannot."""
        try:
            return VideoStore.open(folder, timeout=UI_STORE_TIMEOUT_S)
        except DamagedProjectError as exc:
            if not self._confirm_start_over(str(exc)):
                self.error.emit(f"{exc}. The folder was not opened; the file was left as it is.")
                return None
            try:
                kept = set_aside_damaged(folder)
                store = VideoStore.open(folder, timeout=UI_STORE_TIMEOUT_S)
            except (ProjectStoreError, OSError) as again:
                self.error.emit(str(again))
                return None
            self.message.emit(f"Started a new project; the damaged database was kept as {kept}")
            return store
        except (ProjectStoreError, OSError) as exc:
            self.error.emit(str(exc))
            return None

    def _take_lock(self, store: ProjectStore) -> FolderLock | None:
        """The folder's writer lock, or None (store closed, message shown) when another window or program has it.

        Reopening the folder this window already has keeps using its own lock.
        """
        if self._lock is not None and self._lock.folder == store.folder:
            return self._lock
        pending = self._scan
        if pending is not None and pending.lock is not None and pending.lock.folder == store.folder:
            lock, pending.lock = pending.lock, None  # the new walk of the same folder takes it over
            return lock
        try:
            return FolderLock.acquire(store.folder)
        except FolderLockedError as exc:
            store.close()
            self.error.emit(f"{exc}. The folder was not opened here, so two windows never overwrite each other.")
        except ProjectFileError as exc:  # a planted writer.lock link: the message says what it is and what to do
            store.close()
            self.error.emit(f"{exc} The folder was not opened.")
        except OSError as exc:
            store.close()
            self.error.emit(f"Cannot create the lock file in {store.folder}: {exc}")
        return None

    def _drop_scan(self, scan: _FolderScan) -> None:
        """Close a walk's store and its lock (unless that lock is the open project's own)."""
        scan.store.close()
        lock, scan.lock = scan.lock, None
        if lock is not None and lock is not self._lock:
            lock.release()

    def _confirm_start_over(self, reason: str) -> bool:
        """Ask before starting over: the damaged file is kept aside, never deleted."""
        answer = QMessageBox.question(
            self.canvas.window(),
            "Damaged project database",
            f"{reason}.\n\nStart a new, empty project for this folder? The damaged file is kept next to it, "
            "renamed project.db.damaged-<date>, so nothing is deleted.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _cancel_scan(self) -> None:
        scan, self._scan = self._scan, None
        if scan is not None:
            scan.cancel()  # its store is closed when the worker reports back

    def _finish_scan(self, scan: _FolderScan) -> bool:
        """UI thread: the walk ended; open the project unless a newer request replaced it (once per walk)."""
        if scan.delivered:
            return False
        scan.delivered = True
        self._live_scans.discard(scan)
        if scan is not self._scan:
            self._drop_scan(scan)
            return False
        self._scan = None
        if scan.error is not None:
            self._drop_scan(scan)
            self.error.emit(f"Cannot read {scan.store.folder}: {scan.error}")
            return False
        try:
            project = Project.from_store(scan.store, scan.names)
        except (ProjectStoreError, OSError) as exc:
            self._drop_scan(scan)
            self.error.emit(str(exc))
            return False
        lock, scan.lock = scan.lock, None
        if lock is self._lock:
            self._lock = None  # the same folder again: close() must not release the lock the new project keeps
        self.close()
        self.session.set_project(project)
        self._lock = lock
        project.events.current_changed.connect(self._show_current)
        self._remember(project.folder)
        self.project_opened.emit(project)
        notes = []
        if scan.walk_left_out:  # unreadable sub-folders, FIFOs and the like, names not UTF-8: named, not counted
            shown = ", ".join(f"{name} ({why})" for name, why in scan.walk_left_out[:3])
            more = f" and {len(scan.walk_left_out) - 3:,} more" if len(scan.walk_left_out) > 3 else ""
            notes.append(f"left out: {shown}{more}")
        if project.images.unreadable:
            notes.append(f"{len(project.images.unreadable):,} images with damaged annotations")
        note = f" ({'; '.join(notes)})" if notes else ""
        self.message.emit(f"Opened {project.folder}: {len(project.images):,} images{note}")
        if len(project.images):
            last = project.last_image()  # where the person left off, else the first image
            project.set_current(last) if last is not None else project.step(1)
        else:
            self._show_current(None)
        return True

    def close(self) -> None:
        """Close the open project (a scan still running for another folder goes on)."""
        if self.project is None:
            return
        self.project.events.current_changed.disconnect(self._show_current)
        self.canvas.show_image(None, None, None)
        self.history.clear_all()
        self.selection.clear()
        self._read_ahead.clear()
        self.project.close()
        self.session.set_project(None)
        lock, self._lock = self._lock, None
        if lock is not None:
            lock.release()
        self.project_closed.emit()

    def recent_folders(self) -> list[str]:
        value = self.settings.value(RECENT_KEY, [])
        if isinstance(value, str):
            value = [value]
        return [v for v in (value or []) if Path(v).is_dir()]

    def _remember(self, folder: Path) -> None:
        recent = [str(folder)] + [f for f in self.recent_folders() if f != str(folder)]
        self.settings.setValue(RECENT_KEY, recent[:MAX_RECENT])

    # ---------------------------------------------------------------- images
    def go(self, step: int) -> None:
        if self.project is not None and not self.project.step(step):
            self.message.emit(
                "No more images in this direction" + (" (filter on)" if self.project.images.filter else "")
            )

    def show_image(self, name: str) -> None:
        if self.project is not None:
            self.project.set_current(name)

    def _show_current(self, name: str | None) -> None:
        self.selection.clear()
        project = self.project
        if project is None or name is None:
            self.canvas.show_image(None, None, None)
            self.history.activate(None)
            self.image_shown.emit(None)
            return
        self._request += 1
        request = self._request
        if self.frame_source is not None and project.images.sequence_of(name) is not None:
            self.frame_source(name, lambda image, error: self._display(request, name, image, error))
            return
        path = project.images.absolute(name)
        read_ahead = self._read_ahead.take(path)
        if read_ahead is not None:
            self._display(request, name, *read_ahead)
        elif _file_size(path) <= SYNC_READ_MAX_BYTES:  # small: decoding it now beats waiting for a queued read
            self._display(request, name, *_read(path))
        elif self._read_ahead.when_read(path, lambda image, error: self._display(request, name, image, error)):
            self.message.emit(f"Loading {name}...")
        else:
            self.message.emit(f"Loading {name}...")
            QThreadPool.globalInstance().start(lambda: self._invoker.call(self._display, request, name, *_read(path)))
        self._read_ahead.keep(
            [
                project.images.absolute(n)
                for step in (1, -1)
                if (n := project.images.neighbour(name, step)) is not None and project.images.sequence_of(n) is None
            ],
            hold=[path],
        )

    def _display(self, request: int, name: str, image: np.ndarray | None, error: str | None) -> None:
        project = self.project
        if request != self._request or project is None or project.current_name != name:
            return  # the user moved on while this image was being read
        document = project.document(name)
        if document.damaged is not None:
            self.message.emit(f"{document.damaged}")
        if image is None:
            project.images.mark_unreadable(name, error or "cannot read")
            self.canvas.show_image(None, document, self.selection, error=error)
        else:
            if document.damaged is None:  # its stored rows' damage keeps it listed unreadable
                project.images.mark_readable(name)
            self._record_size(name, image.shape[:2])
            self.canvas.show_image(image, document, self.selection)
        self.history.activate(name)
        self.image_shown.emit(name)

    def _record_size(self, name: str, size: tuple[int, int]) -> None:
        store = self.project.store
        try:
            if store.image_size(name) != tuple(size):
                store.set_image_size(name, *size)
        except ProjectStoreError as exc:
            self.error.emit(str(exc))
