"""Dialogs and docks: class mapping, official models (no network), thumbnails, read-only folders, recent folders."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess

import pytest
from PySide6.QtCore import Qt

from protolabel.app.dialogs.class_mapping import ClassMappingDialog
from protolabel.app.dialogs.model_manager import ModelManagerDialog
from protolabel.app.docks.file_list import ThumbRole
from protolabel.segmentation.model_manager import OFFICIAL_MODELS, ModelManager, OfficialModel
from protolabel.segmentation.project.labels import ClassMapping


def test_class_mapping_dialog_keeps_and_renames(qtbot):
    dialog = ClassMappingDialog(["person", "bicycle", "car"], ClassMapping(), None)
    qtbot.addWidget(dialog)
    assert dialog.mapping() == ClassMapping()  # everything ticked, nothing renamed
    dialog.set_row("bicycle", keep=False)
    dialog.set_row("person", keep=True, label="pedestrian")
    mapping = dialog.mapping()
    assert mapping.keep == {"person", "car"} and mapping.rename == {"person": "pedestrian"}
    dialog.search.setText("ped")
    assert [dialog.table.isRowHidden(r) for r in range(3)] == [False, True, True]
    dialog.set_row("car", keep=True, label="  ")
    dialog.accept()
    assert "empty" in dialog.error_label.text() and dialog.result() == 0


def test_class_mapping_from_the_window_is_saved_with_the_project(
    make_window, photo_folder, qtbot, monkeypatch, resnet50_checkpoint
):
    window = make_window()
    window.open_folder(photo_folder)
    window.options.weights = str(resnet50_checkpoint)

    def fake_exec(dialog):
        dialog.set_row("person", keep=True, label="pedestrian")
        dialog.set_row("car", keep=True)
        for name in dialog.model_classes:
            if name not in ("person", "car"):
                dialog.set_row(name, keep=False)
        return 1

    monkeypatch.setattr(ClassMappingDialog, "exec", fake_exec)
    window.actions_by_name["class_mapping"].trigger()
    qtbot.waitUntil(lambda: window.projects.project.class_mapping.keep is not None, timeout=30_000)
    mapping = window.projects.project.class_mapping
    assert mapping.keep == {"person", "car"} and mapping.label_for("person") == "pedestrian"
    assert window.autolabel_dock.mapping_label.text() == "2 classes kept, 1 renamed"


def test_model_manager_lists_official_models_and_says_when_there_is_no_network(qtbot, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    offline = tuple(
        OfficialModel(m.config, m.file_name, f"http://127.0.0.1:{port}/{m.file_name}", m.fps, m.mask_ap)
        for m in OFFICIAL_MODELS
    )
    dialog = ModelManagerDialog(ModelManager(tmp_path, models=offline, timeout=2))
    qtbot.addWidget(dialog)
    assert dialog.table.rowCount() == 6 and dialog.table.item(0, 3).text() == "not downloaded"
    dialog.download_button.click()
    assert dialog.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: "No network" in dialog.message.text(), timeout=20_000)
    assert "local .pth" in dialog.message.text() and dialog.download_button.isEnabled()


def test_model_manager_uses_a_downloaded_model(qtbot, tmp_path, released_resnet50_checkpoint, make_window):
    import dataclasses
    import hashlib

    cache = tmp_path / "cache"
    cache.mkdir()
    shutil.copy(released_resnet50_checkpoint, cache / OFFICIAL_MODELS[0].file_name)
    data = released_resnet50_checkpoint.read_bytes()  # a synthetic file cannot have the published digest: its own
    entry = dataclasses.replace(OFFICIAL_MODELS[0], size=len(data), sha256=hashlib.sha256(data).hexdigest())
    window = make_window()
    dialog = ModelManagerDialog(ModelManager(cache, models=(entry, *OFFICIAL_MODELS[1:])), window)
    dialog.chosen.connect(lambda path: setattr(window.options, "weights", path))
    dialog.table.selectRow(0)
    assert dialog.table.item(0, 3).text() == "downloaded" and dialog.use_button.isEnabled()
    dialog.use_button.click()
    assert window.options.weights == str(cache / OFFICIAL_MODELS[0].file_name)
    assert window.autolabel_dock.model_label.text() == OFFICIAL_MODELS[0].file_name


def test_thumbnails_load_lazily_off_the_ui_thread(make_window, photo_folder, qtbot):
    window = make_window()
    window.open_folder(photo_folder)
    model = window.file_dock.model
    window.file_dock.view.viewport().repaint()  # painting asks for the visible rows' thumbnails
    qtbot.waitUntil(lambda: model.data(model.index(0), ThumbRole) is not None, timeout=10_000)
    pixmap = model.data(model.index(0), ThumbRole)
    assert max(pixmap.width(), pixmap.height()) == 40
    qtbot.waitUntil(lambda: "damaged.png" in window.projects.project.images.unreadable, timeout=10_000)
    assert "unreadable" not in (model.data(model.index(0), Qt.ItemDataRole.ToolTipRole) or "")
    assert "damaged.png" in model.data(model.index(3), Qt.ItemDataRole.ToolTipRole)


@pytest.mark.skipif(os.geteuid() == 0 and shutil.which("chattr") is None, reason="root without chattr")
def test_read_only_folder_gives_a_message_not_a_crash(make_window, tmp_path, photo_folder):
    window = make_window()
    assert window.open_folder(photo_folder)
    read_only = tmp_path / "read-only"
    read_only.mkdir()
    (read_only / "a.png").write_bytes((photo_folder / "astronaut.png").read_bytes())
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(read_only)], check=True)
    else:
        read_only.chmod(0o555)
    try:
        assert not window.open_folder(read_only)
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(read_only)], check=True)
        else:
            read_only.chmod(0o755)
    assert "open a copy of the images in a folder you can write to" in window.last_error
    assert window.projects.project.folder == photo_folder.resolve()  # the open project stays


def test_recent_folders_are_remembered(make_window, photo_folder, tmp_path):
    window = make_window()
    other = tmp_path / "other"
    other.mkdir()
    window.open_folder(photo_folder)
    window.open_folder(other)
    assert window.projects.recent_folders()[:2] == [str(other.resolve()), str(photo_folder.resolve())]
    window._fill_recent_menu()
    assert [a.text() for a in window.recent_menu.actions()][:2] == [str(other.resolve()), str(photo_folder.resolve())]
