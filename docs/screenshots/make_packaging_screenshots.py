"""Screenshots of the toolbar icons and the application icon in a real window frame, under Xvfb and openbox.

    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/make_packaging_screenshots.py

openbox (apt-get install openbox) draws the title bar, with the icon the window sets; without a window
manager Xvfb shows no frame. Saves `window-icons.png` (the framed window) and `toolbar-icons.png`
(its title bar and toolbar, enlarged) here.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from make_screenshots import demo_folder  # the modules beside this script
from PySide6.QtCore import QRect, QSettings, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication
from window_driving import settle, wait

HERE = Path(__file__).resolve().parent


def main() -> None:
    manager = subprocess.Popen(["openbox"]) if shutil.which("openbox") else None
    app = QApplication(sys.argv[:1])
    from protolabel.app.main_window import MainWindow, app_icon
    from protolabel.resources import APP_ID

    app.setDesktopFileName(APP_ID)
    app.setWindowIcon(app_icon())
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = demo_folder(Path(tmp))
            window = MainWindow(settings=QSettings(str(Path(tmp) / "s.ini"), QSettings.Format.IniFormat))
            window.resize(1300, 760)
            window.move(40, 40)
            window.show()
            window.open_folder(folder)
            wait(app, lambda: window.isVisible() and not window.canvas.building)
            settle(app, 2.0)  # the window manager maps and decorates the window
            screen = QGuiApplication.primaryScreen().grabWindow(0)  # the root window: frame included
            frame = window.frameGeometry()
            screen.copy(frame).save(str(HERE / "window-icons.png"))
            toolbar_bottom = window.toolbar.geometry().bottom() + window.geometry().top() - frame.top()
            last = max(window.toolbar.actionGeometry(a).right() for a in window.toolbar.actions())
            width = window.toolbar.geometry().left() + last + window.geometry().left() - frame.left() + 8
            top = screen.copy(QRect(frame.left(), frame.top(), width, toolbar_bottom + 6))
            top.scaled(
                top.width() * 2,
                top.height() * 2,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            ).save(str(HERE / "toolbar-icons.png"))
            window.close()
    finally:
        if manager is not None:
            manager.terminate()
            manager.wait(10)


if __name__ == "__main__":
    main()
