"""Screenshots of File ▸ Import… recognising a YOLO dataset, its confirmation, and File ▸ Export… with the format
choice, taken under Xvfb.

    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/make_formats_screenshots.py

Needs no model: three photos in a temporary folder, a YOLO dataset and labelme files written from a project on
another copy of them (an object with a hole, one of two parts). Saves `import-format.png`,
`import-format-confirm.png` and `export-format.png` here.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QDialog
from window_driving import settle, wait, write_sample_photos  # the module beside this script

HERE = Path(__file__).resolve().parent
SIZE = 512


def _ring(cx: float, cy: float, rx: float, ry: float, n: int = 24) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.column_stack([cx + rx * np.cos(t), cy + ry * np.sin(t)])


def main() -> None:
    app = QApplication(sys.argv[:1])
    from protolabel.app.dialogs.export import ExportDialog
    from protolabel.app.dialogs.import_coco import choose_and_import
    from protolabel.app.main_window import MainWindow
    from protolabel.segmentation.formats.registry import by_name
    from protolabel.segmentation.geometry.shapes import Polygon, Shape
    from protolabel.segmentation.project.export import export_project
    from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus
    from protolabel.segmentation.project.store import ProjectStore

    with tempfile.TemporaryDirectory() as tmp:
        server = Path(tmp) / "server-copy"
        server.mkdir()
        write_sample_photos(server, SIZE)
        head = Shape((Polygon(_ring(250, 180, 80, 100), (_ring(250, 180, 30, 40),)),))
        eyes = Shape((Polygon(_ring(200, 300, 40, 30)), Polygon(_ring(330, 300, 40, 30))))
        with ProjectStore.open(server) as store:
            store.write_change(
                "astronaut.png",
                saved=[AnnotatedObject("person", head), AnnotatedObject("cup", eyes)],
                status=ImageStatus.EDITED,
            )
            store.write_change("chelsea.png", saved=[AnnotatedObject("cat", head)], status=ImageStatus.EDITED)
            export_project(store, by_name("yolo"), Path(tmp) / "yolo-dataset", labels=("person", "cat", "cup"))
        folder = Path(tmp) / "kitchen-2024"
        shutil.copytree(server, folder, ignore=shutil.ignore_patterns(".protolabel"))
        settings = QSettings(str(Path(tmp) / "s.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=settings)
        window.resize(1400, 860)
        window.show()
        window.open_folder(folder)
        wait(app, lambda: window.projects.project is not None)
        choose_and_import(window)
        source = window.findChild(QDialog, "import_source_dialog")
        wait(app, source.isVisible)
        source.path_edit.setText(str(Path(tmp) / "yolo-dataset"))
        settle(app, 0.5)
        source.grab().save(str(HERE / "import-format.png"))
        if "--hold" in sys.argv:
            settle(app, 6)  # time for `import -window root` from outside
        source.accept()
        wait(
            app, lambda: any(d.isVisible() for d in window.findChildren(QDialog, "import_dialog")) or window.last_error
        )
        dialog = next(d for d in window.findChildren(QDialog, "import_dialog") if d.isVisible())
        settle(app, 0.5)
        dialog.grab().save(str(HERE / "import-format-confirm.png"))
        if "--hold" in sys.argv:
            settle(app, 6)
        dialog.accept()
        wait(app, lambda: window.statusBar().currentMessage().startswith("Merged"))
        export = ExportDialog(folder / "annotations.json", window.exporter.counts(), folder, window)
        export.format_box.setCurrentIndex(export.format_box.findData("yolo"))
        export.show()
        settle(app, 0.5)
        export.grab().save(str(HERE / "export-format.png"))
        if "--hold" in sys.argv:
            settle(app, 6)
        export.reject()
        window.close()


if __name__ == "__main__":
    main()
