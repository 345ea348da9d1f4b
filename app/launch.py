"""Start the Qt application and the main window (what `protolabel gui` runs)."""

from __future__ import annotations

import gc
import logging
import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from protolabel.app.main_window import MainWindow, app_icon
from protolabel.app.termination import TerminationSignals
from protolabel.resources import APP_ID

logger = logging.getLogger(__name__)


def freeze_startup_objects() -> None:
    """Exclude everything alive after start-up (torch, torchvision, Qt wrappers: ~400,000 objects) from
    the garbage collector's full passes, which otherwise stop every thread, the UI's included, for
    100-350 ms at a time while a worker allocates during auto-labeling."""
    gc.collect()
    gc.freeze()


def run_app(
    folder: str | None = None,
    weights: str | None = None,
    config: str | None = None,
    device: str = "auto",
    coco: str | None = None,
) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Protolabel")
    app.setOrganizationName("Protolabel")
    app.setDesktopFileName(APP_ID)  # Wayland compositors match the window to the installed entry and its icon
    app.setWindowIcon(app_icon())
    window = MainWindow()
    freeze_startup_objects()
    window.show()
    if weights:
        path = Path(weights).expanduser()
        if path.is_file():
            window.options.use_weights(str(path.resolve()))
        else:
            window.show_error(f"{path}: no such weights file; choose one under Auto-label ▸ Open Model…")
    if config:
        window.options.config = config
    window.options.device = device
    if folder:
        window.open_folder(folder)
        if coco:
            from protolabel.app.dialogs.import_coco import import_after_open

            import_after_open(window, coco)
    termination = TerminationSignals(window)
    termination.install()
    previous_hook = sys.excepthook
    sys.excepthook = _logging_excepthook(previous_hook)
    try:
        code = app.exec()
    finally:
        sys.excepthook = previous_hook
        termination.restore()
    return termination.exit_code(code)


def _logging_excepthook(previous):
    """An excepthook that puts an error no handler caught (raised in a Qt slot) into the log file, then does
    what the previous hook did (print it): the window stays up, as Qt keeps running after a slot raises."""

    def hook(kind, value, traceback) -> None:
        if not issubclass(kind, KeyboardInterrupt):
            logger.critical("uncaught error in the window", exc_info=(kind, value, traceback))
        previous(kind, value, traceback)

    return hook
