"""The window carries the application icon and every toolbar action an icon, all read from resources/."""

from __future__ import annotations

import subprocess
import sys

import pytest
from PySide6.QtGui import QImage

from protolabel.resources import APP_ICON_SIZES, app_icon_path


def test_window_icon_and_every_toolbar_action_has_an_icon(make_window):
    window = make_window()
    assert not window.windowIcon().isNull()
    actions = [a for a in window.toolbar.actions() if not a.isSeparator()]
    assert len(actions) >= 15
    assert [a.text() for a in actions if a.icon().isNull()] == []
    assert all(not a.icon().pixmap(24, 24).isNull() for a in actions)  # the SVGs render


def test_app_icon_pngs_have_their_sizes():
    for size in APP_ICON_SIZES:
        image = QImage(str(app_icon_path(size)))
        assert (image.width(), image.height()) == (size, size) and image.hasAlphaChannel()


@pytest.mark.slow
def test_self_test_passes_offscreen(tmp_path):
    """What packaging/build.sh runs on the bundle, here on the venv."""
    result = subprocess.run(
        [sys.executable, "-m", "protolabel.app.cli", "self-test", "--keep", str(tmp_path / "run")],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "self-test: passed" in result.stdout and (tmp_path / "run" / "annotations.json").is_file()
