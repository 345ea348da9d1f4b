"""App test setup: a small photo folder, a main window with throw-away settings and model cache."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

PHOTO_SIZE = 96  # small: CPU inference in tests stays short


def _photos() -> dict[str, np.ndarray]:
    from skimage import data

    rgb = {"astronaut.png": data.astronaut(), "coffee.png": data.coffee(), "chelsea.jpg": data.chelsea()}
    return {
        name: cv2.resize(img[:, :, ::-1], (PHOTO_SIZE, PHOTO_SIZE), interpolation=cv2.INTER_AREA)
        for name, img in rgb.items()
    }


@pytest.fixture
def photo_folder(tmp_path) -> Path:
    """astronaut.png, chelsea.jpg, coffee.png (96x96) and a broken file, in natural order."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for name, image in _photos().items():
        cv2.imwrite(str(folder / name), image)
    (folder / "damaged.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    return folder


@pytest.fixture
def make_window(qtbot, tmp_path):
    """make_window() -> a shown MainWindow with its own settings file and model cache."""
    from PySide6.QtCore import QSettings

    from protolabel.app.main_window import MainWindow
    from protolabel.segmentation.model_manager import ModelManager

    windows = []

    def make():
        settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=settings, model_manager=ModelManager(tmp_path / "model-cache"))
        qtbot.addWidget(window)
        window.resize(1200, 800)
        window.show()
        qtbot.waitExposed(window)
        window.activateWindow()  # window shortcuts (D, A, Ctrl+Z, ...) fire only in the active window
        qtbot.waitUntil(window.isActiveWindow)
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()


@pytest.fixture(scope="session")
def shared_engines():
    """An EngineCache whose engines remember their results: give it to a window's auto-label controller."""
    from tests.memo_engine import MemoEngineCache

    return MemoEngineCache()


def scene_to_view(canvas, x: float, y: float):
    from PySide6.QtCore import QPointF

    return canvas.mapFromScene(QPointF(x, y))


@pytest.fixture
def mouse():
    """Simulated mouse gestures on a CanvasView, in image coordinates."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    class Mouse:
        def press(self, canvas, x, y, modifiers=Qt.KeyboardModifier.NoModifier, button=Qt.MouseButton.LeftButton):
            QTest.mousePress(canvas.viewport(), button, modifiers, scene_to_view(canvas, x, y))

        def move(self, canvas, x, y):
            QTest.mouseMove(canvas.viewport(), scene_to_view(canvas, x, y))

        def release(self, canvas, x, y, modifiers=Qt.KeyboardModifier.NoModifier, button=Qt.MouseButton.LeftButton):
            QTest.mouseRelease(canvas.viewport(), button, modifiers, scene_to_view(canvas, x, y))

        def click(self, canvas, x, y, modifiers=Qt.KeyboardModifier.NoModifier):
            QTest.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, modifiers, scene_to_view(canvas, x, y))

        def double_click(self, canvas, x, y):
            QTest.mouseDClick(
                canvas.viewport(),
                Qt.MouseButton.LeftButton,
                Qt.KeyboardModifier.NoModifier,
                scene_to_view(canvas, x, y),
            )

        def drag(self, canvas, start, end, steps=5):
            self.press(canvas, *start)
            for i in range(1, steps + 1):
                t = i / steps
                self.move(canvas, start[0] + t * (end[0] - start[0]), start[1] + t * (end[1] - start[1]))
            self.release(canvas, *end)

        def scene_point(self, canvas, x, y):
            """Where a click at (x, y) really lands (mouse positions are whole viewport pixels)."""
            p = canvas.mapToScene(scene_to_view(canvas, x, y))
            return p.x(), p.y()

    return Mouse()
