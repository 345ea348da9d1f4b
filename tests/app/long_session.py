"""A long scripted session through the real window, run as its own process by test_long_session.py.

A Qt binding that lowers the reference count of None (PySide6-Essentials 6.12.0 on CPython 3.11)
aborts the interpreter after a few hundred image switches; inside pytest that would kill the whole
run, so the session runs in a child process and reports on its last stdout line (JSON):
the switches made and how far sys.getrefcount(None) moved between the warm-up and the end.

usage: python long_session.py FOLDER CHECKPOINT SWITCHES
"""

from __future__ import annotations

import gc
import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings, Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from protolabel.app.event_loop import wait_until  # noqa: E402
from protolabel.app.main_window import MainWindow  # noqa: E402
from protolabel.segmentation.inspection.state import Availability  # noqa: E402
from protolabel.segmentation.model_manager import ModelManager  # noqa: E402

JOB_TIMEOUT_S = 240


def settle(app: QApplication, window: MainWindow) -> None:
    """Let the image load, the canvas build and the thumbnails land before the next step."""
    wait_until(app, lambda: not window.canvas.building, 30)
    for _ in range(3):
        app.processEvents()


def auto_label_current(app: QApplication, window: MainWindow, checkpoint: str) -> None:
    window.options.weights = checkpoint
    window.options.device = "cpu"
    window.options.score_threshold = 0.0
    window.options.top_k = 20
    window.actions_by_name["autolabel_image"].trigger()
    wait_until(app, lambda: not window.autolabel.busy and not window.canvas.building, JOB_TIMEOUT_S)


def review_step(app: QApplication, window: MainWindow, step: int) -> None:
    """What a reviewer does on one image: select objects in the list and on the canvas, delete and undo."""
    objects = window.objects_dock.list
    count = objects.count()
    for row in range(0, count, max(1, count // 6)):
        objects.setCurrentRow(row)
    if count and step % 5 == 0:
        window.actions_by_name["delete_object"].trigger()
        settle(app, window)
        window.undo_action.trigger()
        settle(app, window)
    if step % 17 == 0:
        window.actions_by_name["toggle_objects"].trigger()
        window.actions_by_name["toggle_objects"].trigger()
    if step % 23 == 0:
        window.canvas.zoom_by(1.25)
        window.canvas.fit()


def inspect_step(app: QApplication, window: MainWindow) -> None:
    """Select objects with the inspector showing, move a coefficient slider, then leave the edit alone."""
    state = window.inspector.state
    wait_until(app, lambda: state.availability is not Availability.LOADING, 30)
    if state.availability is not Availability.READY:
        return
    objects = window.objects_dock.list
    for row in range(min(objects.count(), 4)):
        objects.setCurrentRow(row)
        app.processEvents()
        sliders = window.inspector.dock.sliders.sliders
        if sliders:
            sliders[row % len(sliders)].setValue(sliders[row % len(sliders)].value() + 250)
            app.processEvents()


def run(folder: Path, checkpoint: str, switches: int) -> dict:
    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory(prefix="protolabel-session-") as scratch:
        work = Path(scratch)
        settings = QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=settings, model_manager=ModelManager(work / "model-cache"))
        window.resize(1200, 800)
        window.show()
        window.activateWindow()  # window shortcuts (D, A) fire only in the active window
        wait_until(app, window.isActiveWindow, 30)
        window.open_folder(folder)
        wait_until(app, lambda: window.projects.project is not None and window.projects.project.current_name, 30)
        settle(app, window)
        images = len(window.projects.project.images)

        # The model labels the first image, so the inspector has prototypes and coefficients to show. The
        # first image already has objects: label it without the question a person gets first (test_review).
        window.actions_by_name["ask_before_relabel"].setChecked(False)
        auto_label_current(app, window, checkpoint)
        window.inspector.dock.show()

        # Warm-up: one pass over the folder fills the caches; the reference count is taken after it.
        for _ in range(images):
            window.actions_by_name["next_image"].trigger()
            settle(app, window)
        gc.collect()
        before = sys.getrefcount(None)

        direction = 1
        for step in range(switches):
            if step % images == images - 1:
                direction = -direction  # back and forth, as people step through a folder
            key = Qt.Key.Key_D if direction > 0 else Qt.Key.Key_A
            QTest.keyClick(window, key)
            settle(app, window)
            review_step(app, window, step)
            if window.projects.project.current_name == window.projects.project.images.names[0]:
                inspect_step(app, window)
        gc.collect()
        after = sys.getrefcount(None)
        window.close()
        app.processEvents()
        return {"switches": switches, "images": images, "none_refcount_change": after - before}


if __name__ == "__main__":
    result = run(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]))
    print(json.dumps(result), flush=True)
