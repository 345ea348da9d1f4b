"""The model manager dialog never hands on a corrupt cached checkpoint."""

from __future__ import annotations

from protolabel.app.dialogs.model_manager import ModelManagerDialog
from protolabel.segmentation.model_manager import OFFICIAL_MODELS, ModelManager


def test_use_refuses_a_corrupt_cached_file(qtbot, tmp_path, resnet50_checkpoint):
    cache = tmp_path / "cache"
    cache.mkdir()
    data = bytearray(resnet50_checkpoint.read_bytes())
    data[len(data) // 2: len(data) // 2 + 4096] = b"\xff" * 4096  # right size, damaged inside
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
