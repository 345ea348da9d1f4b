"""Render the application icon's PNG sizes from resources/icons/app/protolabel.svg (run after editing the SVG).

    .venv/bin/python packaging/render_icons.py

Uses Qt's own SVG renderer, offscreen, so no other tool is needed; the PNGs are committed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QGuiApplication, QImage, QPainter  # noqa: E402
from PySide6.QtSvg import QSvgRenderer  # noqa: E402

from protolabel.resources import APP_ICON_SIZES  # noqa: E402

APP_ICONS = Path(__file__).resolve().parents[1] / "resources" / "icons" / "app"


def render(svg: Path, size: int) -> QImage:
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg}: not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    return image


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 (QImage painting needs it)
    svg = APP_ICONS / "protolabel.svg"
    for size in APP_ICON_SIZES:
        out = APP_ICONS / f"protolabel-{size}.png"
        if not render(svg, size).save(str(out)):
            raise SystemExit(f"{out}: cannot write")
        print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
