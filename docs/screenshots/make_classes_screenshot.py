"""Screenshot of the Classes dock: counts, distinct colours, an eye switched off, a kept class, taken under Xvfb.

    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/make_classes_screenshot.py

Needs no model: three photos with a few objects of four classes, made in a temporary directory.
Saves `classes-dock.png` (the window) here.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication
from window_driving import settle, wait, write_sample_photos  # the module beside this script

HERE = Path(__file__).resolve().parent
SIZE = 512


def write_project(tmp: Path, size: int) -> Path:
    """kitchen-2024/ under `tmp`: three photos with auto objects of six classes, and a seventh class unused."""
    from protolabel.segmentation.geometry.combine import ellipse_shape
    from protolabel.segmentation.geometry.provenance import Provenance
    from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus
    from protolabel.segmentation.project.store import ProjectStore

    def obj(label, cx, cy, rx, ry, score):
        return AnnotatedObject(label, ellipse_shape(cx - rx, cy - ry, cx + rx, cy + ry), Provenance.AUTO, score=score)

    folder = tmp / "kitchen-2024"
    folder.mkdir()
    write_sample_photos(folder, size)
    with ProjectStore.open(folder) as store:
        store.write_change(
            "astronaut.png",
            status=ImageStatus.AUTO_LABELED,
            saved=[
                obj("person", 250, 230, 150, 210, 0.95),
                obj("flag", 70, 110, 40, 50, 0.62),
                obj("badge", 350, 330, 30, 25, 0.48),
            ],
        )
        store.write_change("chelsea.png", status=ImageStatus.AUTO_LABELED, saved=[obj("cat", 260, 290, 190, 150, 0.91)])
        store.write_change(
            "coffee.png",
            status=ImageStatus.AUTO_LABELED,
            saved=[obj("cup", 250, 250, 120, 90, 0.71), obj("saucer", 250, 270, 200, 150, 0.55)],
        )
        store.set_setting("labels", ["person", "cat", "cup", "saucer", "flag", "badge", "dog"])
    return folder


def main() -> None:
    app = QApplication(sys.argv[:1])

    from protolabel.app.main_window import MainWindow

    with tempfile.TemporaryDirectory() as tmp:
        folder = write_project(Path(tmp), SIZE)
        settings = QSettings(str(Path(tmp) / "s.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=settings)
        window.resize(1400, 860)
        window.show()
        window.open_folder(folder)
        wait(app, lambda: window.projects.project is not None and len(window.canvas.items_by_id) == 3)
        dock = window.labels_dock
        dock.table.item(dock.row_of("badge"), 0).setCheckState(Qt.CheckState.Unchecked)  # badge hidden
        dock.table.item(dock.row_of("dog"), 2).setCheckState(Qt.CheckState.Checked)  # kept with no objects
        dock.select_class("person")
        window.resizeDocks([dock], [300], Qt.Orientation.Vertical)
        settle(app, 0.8)
        window.grab().save(str(HERE / "classes-dock.png"))
        window.close()


if __name__ == "__main__":
    main()
