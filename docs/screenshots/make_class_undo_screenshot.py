"""Screenshot of a project-wide class step in the Edit menu: 'saucer' merged into 'cup', then Edit opened,
showing "Undo Merge…" as one step, taken under Xvfb.

    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/make_class_undo_screenshot.py

Needs no model: the three photos and objects of make_classes_screenshot.py. Saves `class-undo.png` here
(the screen under the window, so the open menu is in it).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from make_classes_screenshot import SIZE, write_project  # the scripts beside this one
from PySide6.QtWidgets import QApplication
from window_driving import settle, wait

HERE = Path(__file__).resolve().parent


def main() -> None:
    app = QApplication(sys.argv[:1])

    from PySide6.QtCore import QSettings

    from protolabel.app.main_window import MainWindow

    with tempfile.TemporaryDirectory() as tmp:
        folder = write_project(Path(tmp), SIZE)
        window = MainWindow(settings=QSettings(str(Path(tmp) / "s.ini"), QSettings.Format.IniFormat))
        window.resize(1400, 860)
        window.move(0, 0)
        window.show()
        window.open_folder(folder)
        wait(app, lambda: window.projects.project is not None and len(window.canvas.items_by_id) == 3)
        dock = window.labels_dock
        dock._confirm = lambda title, text: True  # the confirmation is answered Yes, as a user would
        dock.select_class("saucer")
        dock.merge("cup")
        window.projects.show_image("coffee.png")
        wait(app, lambda: window.projects.project.current_name == "coffee.png")
        settle(app, 0.5)
        edit = next(a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "Edit")
        bar = window.menuBar()
        edit.popup(bar.mapToGlobal(bar.actionGeometry(edit.menuAction()).bottomLeft()))
        settle(app, 0.8)
        geometry = window.frameGeometry()
        app.primaryScreen().grabWindow(0, geometry.x(), geometry.y(), geometry.width(), geometry.height()).save(
            str(HERE / "class-undo.png")
        )
        edit.close()
        window.close()


if __name__ == "__main__":
    main()
