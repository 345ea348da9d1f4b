"""Screenshots of File ▸ Import COCO…: the confirmation (what merges, what is skipped and why) and the
window after the merge, taken under Xvfb.

    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/make_import_screenshot.py

Needs no model: a folder of three photos (coffee.png already verified here) and a COCO file as
`protolabel label` writes it on a server (plus an image this folder does not have and a crowd
region), made in a temporary directory. Saves `import-summary.png` and `import-merged.png` here.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QDialog
from window_driving import settle, wait, write_sample_photos  # the module beside this script

HERE = Path(__file__).resolve().parent
SIZE = 512


def _ring(cx: float, cy: float, rx: float, ry: float, n: int = 24) -> list[float]:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.column_stack([cx + rx * np.cos(t), cy + ry * np.sin(t)]).round(1).ravel().tolist()


def _coco(path: Path) -> Path:
    images = [
        {"id": i + 1, "file_name": name, "width": SIZE, "height": SIZE}
        for i, name in enumerate(["astronaut.png", "chelsea.png", "coffee.png", "street/0001.jpg"])
    ]
    anns = [
        {
            "id": 1,
            "image_id": 1,
            "category_id": 1,
            "segmentation": [_ring(250, 180, 80, 100)],
            "source": "auto",
            "score": 0.93,
        },
        {
            "id": 2,
            "image_id": 1,
            "category_id": 47,
            "segmentation": [_ring(430, 330, 45, 45)],
            "source": "auto",
            "score": 0.58,
        },
        {
            "id": 3,
            "image_id": 2,
            "category_id": 17,
            "segmentation": [_ring(260, 290, 190, 150)],
            "source": "auto",
            "score": 0.88,
        },
        {
            "id": 4,
            "image_id": 2,
            "category_id": 1,
            "iscrowd": 1,
            "segmentation": {"size": [SIZE, SIZE], "counts": [1000, 500, SIZE * SIZE - 1500]},
        },
        {
            "id": 5,
            "image_id": 3,
            "category_id": 47,
            "segmentation": [_ring(250, 250, 120, 90)],
            "source": "auto",
            "score": 0.71,
        },
        {
            "id": 6,
            "image_id": 4,
            "category_id": 1,
            "segmentation": [_ring(50, 50, 20, 20)],
            "source": "auto",
            "score": 0.9,
        },
    ]
    cats = [{"id": 1, "name": "person"}, {"id": 17, "name": "cat"}, {"id": 47, "name": "cup"}]
    path.write_text(json.dumps({"images": images, "annotations": anns, "categories": cats}))
    return path


def main() -> None:
    app = QApplication(sys.argv[:1])
    from protolabel.app.dialogs.import_coco import start_import
    from protolabel.app.main_window import MainWindow
    from protolabel.segmentation.geometry.provenance import Provenance
    from protolabel.segmentation.geometry.shapes import Polygon, Shape
    from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus
    from protolabel.segmentation.project.store import ProjectStore

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "kitchen-2024"
        folder.mkdir()
        write_sample_photos(folder, SIZE)
        cup = Shape((Polygon(np.array(_ring(250, 250, 110, 85)).reshape(-1, 2)),))
        with ProjectStore.open(folder) as store:
            store.write_change(
                "coffee.png", saved=[AnnotatedObject("cup", cup, Provenance.VERIFIED)], status=ImageStatus.VERIFIED
            )
        coco = _coco(Path(tmp) / "label-gpu-server.json")
        settings = QSettings(str(Path(tmp) / "s.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=settings)
        window.resize(1400, 860)
        window.show()
        window.open_folder(folder)
        wait(app, lambda: window.projects.project is not None)
        start_import(window, coco)  # read and planned on a worker thread, then the confirmation opens
        wait(app, lambda: window.findChild(QDialog, "import_dialog") is not None or window.last_error)
        dialog = window.findChild(QDialog, "import_dialog")
        assert dialog is not None, window.last_error
        wait(app, dialog.isVisible)
        settle(app, 0.5)
        dialog.grab().save(str(HERE / "import-summary.png"))
        dialog.accept()
        wait(app, lambda: len(window.canvas.items_by_id) == 2 and not window.canvas.building)
        settle(app, 0.8)
        window.grab().save(str(HERE / "import-merged.png"))
        window.close()


if __name__ == "__main__":
    main()
