"""The model manager dialog never hands on a corrupt cached checkpoint; its mirror setting is checked and kept."""

from __future__ import annotations

from protolabel.app.dialogs.model_manager import ModelManagerDialog
from protolabel.segmentation.model_manager import MIRROR_ENV, OFFICIAL_MODELS, ModelManager


def test_use_refuses_a_corrupt_cached_file(qtbot, tmp_path, resnet50_checkpoint):
    cache = tmp_path / "cache"
    cache.mkdir()
    data = bytearray(resnet50_checkpoint.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 4096] = b"\xff" * 4096  # right size, damaged inside
    (cache / OFFICIAL_MODELS[0].file_name).write_bytes(bytes(data))
    dialog = ModelManagerDialog(ModelManager(cache))
    qtbot.addWidget(dialog)
    chosen = []
    dialog.chosen.connect(chosen.append)
    dialog.table.selectRow(0)
    dialog.use_button.click()
    assert chosen == []
    assert "Cannot use it" in dialog.message.text() and "deleted" in dialog.message.text()
    assert dialog.table.item(0, 3).text() == "not downloaded"


def test_mirror_setting_is_checked_used_and_kept_by_the_window(qtbot, make_window, tmp_path, monkeypatch):
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    monkeypatch.delenv(MIRROR_ENV, raising=False)
    window = make_window()
    seen = {}

    def edit_and_close():
        dialog = next(w for w in QApplication.topLevelWidgets() if isinstance(w, ModelManagerDialog) and w.isVisible())
        dialog.mirror_edit.setText("ftp://files.example/models")
        dialog.mirror_edit.editingFinished.emit()
        seen["refused"] = (dialog.message.text(), window.model_manager.mirror)
        dialog.mirror_edit.setText("http://mirror.example/models/")
        dialog.mirror_edit.editingFinished.emit()
        model = window.model_manager.model("yolact_resnet50")
        seen["url"] = window.model_manager.url_for(model)
        dialog.reject()

    QTimer.singleShot(0, edit_and_close)
    window.open_model_manager()
    message, mirror = seen["refused"]
    assert "Mirror not changed" in message and "not an http:// or https:// address" in message and mirror == ""
    assert "MIRROR/&lt;official file name&gt;" in message  # shown, not swallowed as a tag (seen under Xvfb)
    assert seen["url"] == "http://mirror.example/models/yolact_resnet50_54_800000.pth"
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    assert settings.value("model_mirror") == "http://mirror.example/models"
    window.close()
    again = make_window()  # a new session: the saved mirror is used
    assert again.model_manager.mirror == "http://mirror.example/models"
