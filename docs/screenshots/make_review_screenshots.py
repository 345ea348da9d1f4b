"""Screenshots of per-object review: Tab to an unverified object (zoomed, with context), the score filter, and
the object context menu, taken under Xvfb.

    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/make_review_screenshots.py

Needs no model: three photos with auto objects of several scores, made in a temporary directory.
Saves `review-flow.png` and `review-context-menu.png` here.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from window_driving import settle, wait, write_sample_photos  # the module beside this script

HERE = Path(__file__).resolve().parent
SIZE = 512


def _ellipse(cx: float, cy: float, rx: float, ry: float):
    from protolabel.segmentation.geometry.combine import ellipse_shape

    return ellipse_shape(cx - rx, cy - ry, cx + rx, cy + ry)


def main() -> None:
    app = QApplication(sys.argv[:1])

    from protolabel.app.main_window import MainWindow
    from protolabel.segmentation.geometry.provenance import Provenance
    from protolabel.segmentation.project.records import AnnotatedObject
    from protolabel.segmentation.project.store import ProjectStore

    rng = np.random.default_rng(3)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "street-2024"
        folder.mkdir()
        write_sample_photos(folder, SIZE)
        with ProjectStore.open(folder) as store:
            for name in ("astronaut.png", "coffee.png"):
                objects = [
                    AnnotatedObject(
                        ["person", "flag", "badge", "helmet"][k % 4],
                        _ellipse(*rng.uniform(40, SIZE - 40, 2), *rng.uniform(12, 45, 2)),
                        Provenance.AUTO,
                        score=float(rng.uniform(0.1, 0.99)),
                    )
                    for k in range(30)
                ]
                store.replace_auto_objects(name, objects, image_size=(SIZE, SIZE))
        settings = QSettings(str(Path(tmp) / "s.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=settings)
        window.resize(1400, 900)
        window.show()
        window.open_folder(folder)
        wait(app, lambda: window.projects.project is not None and len(window.canvas.items_by_id) == 30)
        dock = window.objects_dock
        dock.sort_box.setCurrentText("Score (high first)")
        dock.score_slider.setValue(35)
        for _ in range(3):
            window.actions_by_name["next_unverified"].trigger()
            window.actions_by_name["accept_object"].trigger()  # accepted, and on to the next one
        window.actions_by_name["next_unverified"].trigger()
        settle(app, 0.8)
        window.grab().save(str(HERE / "review-flow.png"))

        window.canvas.fit()
        target = window.selection.single
        box = window.canvas.items_by_id[target].sceneBoundingRect()
        at = window.canvas.viewport().mapToGlobal(window.canvas.mapFromScene(box.center()))
        window.review.show_menu(target, at)
        settle(app, 0.8)
        shot = app.primaryScreen().grabWindow(0)
        frame = window.frameGeometry()
        shot.copy(frame.x(), frame.y(), frame.width(), frame.height()).save(str(HERE / "review-context-menu.png"))
        window.review.menu.close()
        window.close()


if __name__ == "__main__":
    main()
