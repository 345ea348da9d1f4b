"""Screenshots of the real window for the README and docs/, taken under Xvfb.

    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/make_screenshots.py WEIGHTS

Builds a small folder of scikit-image photos in a temporary directory, auto-labels it with WEIGHTS
on the CPU, then saves `after-autolabel.png`, `editing-polygon.png` and `shortcuts.png` here.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QPointF, QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from window_driving import wait  # the module beside this script

HERE = Path(__file__).resolve().parent


def demo_folder(root: Path) -> Path:
    from skimage import data

    folder = root / "street-and-kitchen"
    folder.mkdir()
    photos = {
        "astronaut.png": data.astronaut(),
        "coffee.png": data.coffee(),
        "chelsea.png": data.chelsea(),
        "rocket.png": data.rocket(),
        "hubble.png": data.hubble_deep_field(),
        "immunohistochemistry.png": data.immunohistochemistry(),
        "camera.png": data.camera(),
    }
    for name, rgb in photos.items():
        if rgb.ndim == 2:
            rgb = np.stack([rgb] * 3, axis=-1)
        h, w = rgb.shape[:2]
        scale = 384 / max(h, w)
        small = cv2.resize(rgb[:, :, ::-1], (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(folder / name), small)
    return folder


def main(weights: str) -> None:
    app = QApplication(sys.argv[:1])
    from protolabel.app.main_window import MainWindow

    with tempfile.TemporaryDirectory() as tmp:
        folder = demo_folder(Path(tmp))
        window = MainWindow(settings=QSettings(str(Path(tmp) / "s.ini"), QSettings.Format.IniFormat))
        window.resize(1500, 940)
        window.show()
        window.options.weights, window.options.device = weights, "cpu"
        window.options.score_threshold, window.options.top_k = 0.3, 15
        window.open_folder(folder)
        wait(app, lambda: window.isVisible())
        window.actions_by_name["autolabel_all"].trigger()
        wait(app, lambda: not window.autolabel.busy and not window.progress.isVisible() and not window.canvas.building)
        project = window.projects.project
        busiest = max(project.images.names, key=lambda n: len(project.document(n)))
        window.projects.show_image(busiest)
        model = window.file_dock.model
        wait(app, lambda: all(model.data(model.index(r), 0x0103) is not None for r in range(model.rowCount())), 30)
        app.processEvents()
        window.grab().save(str(HERE / "after-autolabel.png"))

        # one image verified, one edited by hand, so the list shows every status
        window.projects.show_image("chelsea.png")
        window.editing.verify()
        window.projects.show_image("astronaut.png")
        # a person outlines the head and the helmet, then drags a vertex of the head outline
        canvas = window.canvas
        for label, center, radii in (("helmet", (300, 348), (86, 84)), ("person", (170, 66), (57, 60))):
            window.objects_dock.label_box.setEditText(label)
            window.actions_by_name["draw_mode"].trigger()
            for a in np.linspace(0, 2 * np.pi, 18, endpoint=False):
                x = float(np.clip(center[0] + radii[0] * np.cos(a), 0, 383))
                y = float(np.clip(center[1] + radii[1] * np.sin(a), 0, 383))
                QTest.mouseClick(
                    canvas.viewport(),
                    Qt.MouseButton.LeftButton,
                    Qt.KeyboardModifier.NoModifier,
                    canvas.mapFromScene(QPointF(x, y)),
                )
            QTest.keyClick(canvas, Qt.Key.Key_Return)
        window.actions_by_name["edit_mode"].trigger()
        head = canvas.items_by_id[window.selection.single]
        canvas.zoom_by(1.4)
        canvas.centerOn(185, 150)
        vx, vy = head.obj.shape.polygons[0].exterior[2]
        start = canvas.mapFromScene(QPointF(vx, vy))
        QTest.mousePress(canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
        for step in range(1, 8):
            QTest.mouseMove(canvas.viewport(), canvas.mapFromScene(QPointF(vx + 2.5 * step, vy + 1.5 * step)))
        app.processEvents()
        window.grab().save(str(HERE / "editing-polygon.png"))
        QTest.mouseRelease(
            canvas.viewport(),
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
            canvas.mapFromScene(QPointF(vx + 17.5, vy + 10.5)),
        )
        window.actions_by_name["help"].trigger()
        app.processEvents()
        window.grab().save(str(HERE / "shortcuts.png"))
        window.close()


if __name__ == "__main__":
    main(sys.argv[1])
