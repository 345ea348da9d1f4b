"""Screenshot of a brush stroke in progress in the real window, taken under Xvfb (no model needed).

    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/make_editing_screenshot.py

Opens scikit-image's coffee photo, outlines the cup with the ellipse tool's shape, then paints the
cup's handle onto it with the brush and saves `brush-stroke.png` here before the mouse is released
(the painted pixels show as the yellow overlay, the brush radius as the circle at the cursor).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import cv2
from PySide6.QtCore import QPointF, QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from window_driving import settle, wait  # the module beside this script

HERE = Path(__file__).resolve().parent
STROKE = [(252, 200), (244, 222), (234, 240), (224, 258), (214, 274), (208, 286)]


def main() -> None:
    app = QApplication(sys.argv[:1])
    from skimage import data

    from protolabel.app.main_window import MainWindow
    from protolabel.segmentation.geometry.combine import ellipse_shape

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "kitchen"
        folder.mkdir()
        cv2.imwrite(str(folder / "coffee.png"), data.coffee()[:, :, ::-1])  # 600 x 400
        window = MainWindow(settings=QSettings(str(Path(tmp) / "s.ini"), QSettings.Format.IniFormat))
        window.resize(1500, 940)
        window.show()
        window.open_folder(folder)
        canvas = window.canvas
        wait(app, lambda: window.isVisible() and canvas.image_size_wh() != (0, 0), 60)
        document = window.projects.project.current
        applied = window.editing.apply(document.add_object("cup", ellipse_shape(172, 20, 410, 222)))
        window.selection.set([applied.after[0].id])
        window.actions_by_name["brush_mode"].trigger()
        canvas.set_brush_radius(12.0)
        settle(app)

        viewport = canvas.viewport()
        QTest.mousePress(
            viewport,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
            canvas.mapFromScene(QPointF(*STROKE[0])),
        )
        for x, y in STROKE[1:]:
            QTest.mouseMove(viewport, canvas.mapFromScene(QPointF(x, y)))
        settle(app)
        window.grab().save(str(HERE / "brush-stroke.png"))
        QTest.mouseRelease(
            viewport,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
            canvas.mapFromScene(QPointF(*STROKE[-1])),
        )
        settle(app)
        window.close()


if __name__ == "__main__":
    main()
