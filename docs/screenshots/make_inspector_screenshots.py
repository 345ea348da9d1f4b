"""Screenshots of the prototype inspector in the real window, taken under Xvfb.

    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/make_inspector_screenshots.py WEIGHTS

Auto-labels scikit-image's astronaut photo with WEIGHTS on the CPU, then saves here:
`inspector.png` (an object's coefficients being edited, the live mask on the canvas),
`inspector-prototypes.png` (the prototype grid, one prototype laid over the image),
`inspector-leakage.png` (the uncropped mask and the box) and `inspector-region.png`
(region re-inference with the detections it offers).
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
from window_driving import settle, wait  # the module beside this script

HERE = Path(__file__).resolve().parent


def most_visible_edit(record, row: int) -> tuple[int, float]:
    """(prototype, new coefficient) that changes the most of the mask (at most half of it) and leaves some."""
    from protolabel.segmentation.inspection.live import LiveMask

    live = LiveMask(record.prototypes, record.boxes_rel[row], record.frame_size)
    original = live.compute(record.coefficients[row]).mask
    best, best_score = (0, float(record.coefficients[row, 0])), -1.0
    for j in range(record.num_prototypes):
        for value in np.linspace(-1, 1, 9):
            coeffs = record.coefficients[row].copy()
            coeffs[j] = value
            edited = live.compute(coeffs).mask
            if not edited.any():
                continue
            score = min(np.count_nonzero(edited != original) / max(np.count_nonzero(original), 1), 0.5)
            if score > best_score:
                best, best_score = (j, float(value)), score
    return best


def main(weights: str) -> None:
    app = QApplication(sys.argv[:1])
    from skimage import data

    from protolabel.app.main_window import MainWindow
    from protolabel.segmentation.geometry.shapely_bridge import shape_to_geometry
    from protolabel.segmentation.inspection.state import Availability

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        cv2.imwrite(str(folder / "astronaut.png"), data.astronaut()[:, :, ::-1])
        window = MainWindow(settings=QSettings(str(Path(tmp) / "s.ini"), QSettings.Format.IniFormat))
        window.resize(1560, 960)
        window.show()
        window.options.weights, window.options.device = weights, "cpu"
        window.options.score_threshold, window.options.top_k = 0.0, 12
        window.open_folder(folder)
        wait(app, lambda: window.isVisible() and window.canvas.image_size_wh() != (0, 0))
        window.actions_by_name["autolabel_image"].trigger()
        wait(app, lambda: not window.autolabel.busy and not window.canvas.building)
        inspector, state = window.inspector, window.inspector.state
        dock, canvas = inspector.dock, window.canvas
        wait(app, lambda: state.availability is Availability.READY, 30)

        # the largest object: select it, open the Mask tab, and make the one-coefficient edit that
        # changes its mask most visibly while leaving a mask (the slider's effect shows on the canvas)
        items = canvas.items_by_id
        target = max(items.values(), key=lambda i: shape_to_geometry(i.obj.shape).area).obj
        window.selection.set([target.id])
        dock.tabs.setCurrentIndex(1)
        record, row = state.record, state.detection
        j, value = most_visible_edit(record, row)
        dock.sliders.sliders[j].setValue(int(round(value * 1000)))
        settle(app, 0.5)
        dock.mask_scroll.verticalScrollBar().setValue(dock.chart.y() - 24)  # chart, stages, contributions
        settle(app, 0.3)
        window.grab().save(str(HERE / "inspector.png"))

        # the leakage view of the same detection (edit undone)
        dock.reset_button.click()
        dock.leakage_box.setChecked(True)
        settle(app, 0.5)
        window.grab().save(str(HERE / "inspector-leakage.png"))
        dock.leakage_box.setChecked(False)

        # the prototype grid, one prototype over the image
        dock.tabs.setCurrentIndex(0)
        state.set_enlarged(int(state.summary().ranking[0]))
        tile = dock.grid.tile_rect(int(state.summary().ranking[0])).center().toPoint()
        QTest.mouseMove(dock.grid, tile)
        settle(app, 0.5)
        window.grab().save(str(HERE / "inspector-prototypes.png"))
        state.set_enlarged(None)

        # region re-inference around the helmet and the flag
        window.actions_by_name["region_mode"].trigger()
        start, end = (230, 40), (470, 250)
        QTest.mousePress(
            canvas.viewport(),
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
            canvas.mapFromScene(QPointF(*start)),
        )
        for step in range(1, 6):
            t = step / 5
            QTest.mouseMove(
                canvas.viewport(),
                canvas.mapFromScene(QPointF(start[0] + t * (end[0] - start[0]), start[1] + t * (end[1] - start[1]))),
            )
        QTest.mouseRelease(
            canvas.viewport(),
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
            canvas.mapFromScene(QPointF(*end)),
        )
        wait(app, lambda: inspector.running is None and state.record is not None and state.record.region)
        offered = inspector.new_candidates(state.record)
        if offered:
            dock.detection_list.setCurrentRow(offered[0])
        settle(app, 0.5)
        window.grab().save(str(HERE / "inspector-region.png"))
        window.close()


if __name__ == "__main__":
    main(sys.argv[1])
