"""Screenshots of "Train on this project" for docs/app.md, taken under Xvfb with a real training run.

    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/make_training_screenshot.py WEIGHTS

Builds a small project of scikit-image photos with verified polygons in a temporary directory,
opens it in the real window, starts a short fine-tune from WEIGHTS on the CPU through the
dialog, and saves `training-settings.png` (the dialog) and `training.png` (the finished run) here.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from window_driving import wait  # the module beside this script

HERE = Path(__file__).resolve().parent
SIZE = 128
OBJECTS = {  # a rough outline per object, in 128 px images
    "chelsea.png": [("cat", [(30, 12), (100, 14), (118, 70), (92, 122), (40, 124), (20, 80)])],
    "coffee.png": [("cup", [(18, 12), (110, 10), (114, 78), (64, 100), (14, 80)])],
    "astronaut.png": [("person", [(40, 8), (92, 10), (108, 70), (118, 127), (14, 127), (24, 64)])],
    "cat.png": [("cat", [(20, 20), (108, 16), (112, 110), (24, 112)])],
    "retina.png": [("cup", [(30, 30), (98, 30), (98, 98), (30, 98)])],
    "motorcycle.png": [("person", [(50, 10), (80, 10), (86, 90), (44, 92)])],
}


def demo_project(root: Path) -> Path:
    from skimage import data

    from protolabel.segmentation.geometry.shapes import Polygon, Shape
    from protolabel.segmentation.project.project import Project

    folder = root / "kitchen-and-cats"
    folder.mkdir()
    photos = {
        "chelsea.png": data.chelsea(),
        "coffee.png": data.coffee(),
        "astronaut.png": data.astronaut(),
        "cat.png": data.cat(),
        "retina.png": data.retina(),
        "motorcycle.png": data.stereo_motorcycle()[0],
    }
    for name, rgb in photos.items():
        cv2.imwrite(str(folder / name), cv2.resize(rgb[:, :, ::-1], (SIZE, SIZE), interpolation=cv2.INTER_AREA))
    project = Project.open(folder)
    for name, items in OBJECTS.items():
        doc = project.document(name)
        for label, points in items:
            doc.apply(doc.add_object(label, Shape((Polygon(np.asarray(points, dtype=np.float64)),))))
        doc.apply(doc.verify())
    project.close()
    return folder


def main(weights: str) -> None:
    app = QApplication(sys.argv[:1])
    from protolabel.app.main_window import MainWindow
    from protolabel.segmentation.training.run_monitor import RunState

    with tempfile.TemporaryDirectory() as tmp:
        folder = demo_project(Path(tmp))
        window = MainWindow(settings=QSettings(str(Path(tmp) / "s.ini"), QSettings.Format.IniFormat))
        window.resize(1300, 860)
        window.show()
        window.options.weights, window.options.device = weights, "cpu"
        window.open_folder(folder)
        window.actions_by_name["train_project"].trigger()
        dialog = window.training.dialog
        page, monitor = dialog.settings_page, window.training.monitor
        page.iterations_box.setValue(40)
        page.batch_box.setValue(2)
        page.max_size_own.setChecked(False)
        page.max_size_box.setValue(96)
        page.val_split_box.setValue(34)
        page.device_box.setCurrentText("cpu")
        dialog.resize(780, 660)
        wait(app, dialog.isVisible)
        app.processEvents()
        dialog.grab().save(str(HERE / "training-settings.png"))
        page.start_button.click()
        wait(app, dialog.progress_view.isVisible)
        wait(app, lambda: not monitor.state.active, timeout=900.0)
        if monitor.state is not RunState.FINISHED:
            raise SystemExit(f"training did not finish: {monitor.state} {monitor.error}")
        app.processEvents()
        dialog.grab().save(str(HERE / "training.png"))
        window.close()


if __name__ == "__main__":
    main(sys.argv[1])
