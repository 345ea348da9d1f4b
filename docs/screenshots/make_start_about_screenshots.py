"""Screenshots of the start page (a bare `protolabel`) and Help ▸ About, taken under Xvfb.

    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/make_start_about_screenshots.py

Needs no model: the window starts with three recent folders (made in a temporary directory) and
saves `start-page.png` and `about.png` here.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from window_driving import settle, wait  # the module beside this script

HERE = Path(__file__).resolve().parent


def main() -> None:
    app = QApplication(sys.argv[:1])
    from protolabel.app.controllers.project import RECENT_KEY
    from protolabel.app.dialogs.about import AboutDialog
    from protolabel.app.main_window import MainWindow

    with tempfile.TemporaryDirectory() as tmp:
        recent = []
        for name in ("street-scenes", "kitchen-2024", "field-survey/drone-flight-3"):
            folder = Path(tmp) / "datasets" / name
            folder.mkdir(parents=True)
            recent.append(str(folder))
        settings = QSettings(str(Path(tmp) / "s.ini"), QSettings.Format.IniFormat)
        settings.setValue(RECENT_KEY, recent)
        window = MainWindow(settings=settings)
        window.resize(1400, 860)
        window.show()
        wait(app, lambda: window.isVisible() and window.start_page.isVisible())
        settle(app, 0.5)
        window.grab().save(str(HERE / "start-page.png"))

        about = AboutDialog(window.options.device, window.windowIcon(), window)
        about.show()
        wait(app, about.isVisible)
        settle(app, 0.5)
        about.grab().save(str(HERE / "about.png"))
        about.close()
        window.close()


if __name__ == "__main__":
    main()
