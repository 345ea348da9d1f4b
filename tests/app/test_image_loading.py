"""Large images are decoded off the UI thread; a slow, stale read never replaces a newer image."""

import cv2
import numpy as np
from PySide6.QtCore import QThreadPool

from protolabel.app.controllers.project import SYNC_READ_MAX_BYTES


def _big_noise_png(path, side=900):
    cv2.imwrite(str(path), np.random.default_rng(0).integers(0, 256, (side, side, 3), dtype=np.uint8))
    assert path.stat().st_size > SYNC_READ_MAX_BYTES


def test_large_image_is_read_in_the_background(make_window, qtbot, tmp_path):
    folder = tmp_path / "big"
    folder.mkdir()
    _big_noise_png(folder / "a_big.png")
    window = make_window()
    with qtbot.waitSignal(window.projects.image_shown, timeout=20_000) as shown:
        assert window.projects.open_folder(folder)
        assert window.canvas._image_wh == (0, 0)  # open_folder returned before the image was decoded
    assert shown.args == ["a_big.png"]
    assert window.canvas._image_wh == (900, 900)


def test_a_stale_read_does_not_replace_the_newer_image(make_window, qtbot, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    _big_noise_png(folder / "1_big.png")
    cv2.imwrite(str(folder / "2_small.png"), np.zeros((40, 60, 3), np.uint8))
    window = make_window()
    shown = []
    window.projects.image_shown.connect(shown.append)
    window.projects.open_folder(folder)  # starts reading 1_big.png in the pool
    window.projects.show_image("2_small.png")  # small: shown at once
    assert shown == ["2_small.png"] and window.canvas._image_wh == (60, 40)
    assert QThreadPool.globalInstance().waitForDone(20_000)  # the big read has finished...
    qtbot.wait(100)  # ...and its queued result has been delivered, and must have been dropped
    assert shown == ["2_small.png"] and window.canvas._image_wh == (60, 40)
