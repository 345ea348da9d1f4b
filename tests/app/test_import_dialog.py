"""File ▸ Import… with a COCO file in the real window: the confirmation says what merges and what is skipped, Import
merges (canvas, object list, file list and classes follow), Cancel writes nothing."""

from __future__ import annotations

import json

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QFileDialog

from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.geometry.shapes import Polygon, Shape
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus
from protolabel.segmentation.project.store import ProjectStore


def _coco(path):
    data = {
        "images": [
            {"id": 1, "file_name": "astronaut.png", "width": 96, "height": 96},
            {"id": 2, "file_name": "coffee.png", "width": 96, "height": 96},
            {"id": 3, "file_name": "not-here.png", "width": 96, "height": 96},
        ],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 4,
                "segmentation": [[10, 10, 40, 10, 40, 40, 10, 40]],
                "source": "auto",
                "score": 0.7,
            },
            {"id": 2, "image_id": 1, "category_id": 8, "segmentation": [[50, 50, 90, 50, 90, 90]]},
            {
                "id": 3,
                "image_id": 1,
                "category_id": 8,
                "iscrowd": 1,
                "segmentation": {"size": [96, 96], "counts": [100, 20, 96 * 96 - 120]},
            },
            {"id": 4, "image_id": 2, "category_id": 4, "segmentation": [[1, 1, 9, 1, 9, 9]], "source": "auto"},
        ],
        "categories": [{"id": 4, "name": "helmet"}, {"id": 8, "name": "flag"}],
    }
    path.write_text(json.dumps(data))
    return path


def _verified_coffee(folder):
    square = Shape((Polygon(np.array([[20, 20], [60, 20], [60, 60], [20, 60]], float)),))
    with ProjectStore.open(folder) as store:
        store.write_change(
            "coffee.png", saved=[AnnotatedObject("cup", square, Provenance.VERIFIED)], status=ImageStatus.VERIFIED
        )


def _choose_in_import_dialog(window, qtbot):
    """File ▸ Import…, then File… (QFileDialog.getOpenFileName, patched by the test), then Next."""
    window.actions_by_name["import_coco"].trigger()
    source = window.findChild(QDialog, "import_source_dialog")
    qtbot.waitUntil(lambda: source.isVisible())
    source._choose_file()
    assert source.next_button.isEnabled(), source.found.text()
    source.accept()


def _dialog(window, qtbot):
    """The visible confirmation, once the file was read and planned on the worker thread."""

    def visible():
        return [d for d in window.findChildren(QDialog, "import_dialog") if d.isVisible()]

    qtbot.waitUntil(lambda: len(visible()) == 1)
    return visible()[0]


def test_import_menu_confirms_then_merges(make_window, photo_folder, qtbot, tmp_path, monkeypatch):
    _verified_coffee(photo_folder)
    coco = _coco(tmp_path / "server.json")
    window = make_window()
    window.open_folder(photo_folder)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(coco), "COCO JSON (*.json)"))
    _choose_in_import_dialog(window, qtbot)

    dialog = _dialog(window, qtbot)
    text = dialog.text.toPlainText()
    assert "Will merge 1 image with 2 objects." in text
    assert "not in the folder: not-here.png" in text
    assert "already edited or verified in the project, left as it is: coffee.png" in text
    assert "1 crowd region" in text and "New classes: helmet, flag." in text
    assert window.canvas.items_by_id == {}  # nothing written before Import
    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)

    project = window.projects.project
    qtbot.waitUntil(lambda: len(window.canvas.items_by_id) == 2 and not window.canvas.building)
    assert sorted((o.label, o.provenance) for o in project.current.objects) == [
        ("flag", Provenance.EDITED),
        ("helmet", Provenance.AUTO),
    ]
    assert window.objects_dock.list.count() == 2
    assert project.images.status("astronaut.png") is ImageStatus.EDITED
    assert project.images.status("coffee.png") is ImageStatus.VERIFIED
    assert {"helmet", "flag"} <= set(project.labels)
    assert [o.label for o in project.document("coffee.png").objects] == ["cup"]  # never overwritten
    assert "Merged 1 image with 2 objects" in window.statusBar().currentMessage()


def test_cancel_writes_nothing_and_bad_file_is_one_message(make_window, photo_folder, qtbot, tmp_path):
    from protolabel.app.dialogs.import_coco import ImportController, start_import

    coco = _coco(tmp_path / "server.json")
    window = make_window()
    window.open_folder(photo_folder)
    start_import(window, coco)
    _dialog(window, qtbot).reject()
    controller = window.findChild(ImportController, "import_controller")
    qtbot.waitUntil(lambda: not controller.busy)
    assert window.projects.project.store.statuses() == {} and window.canvas.items_by_id == {}

    bad = tmp_path / "bad.json"
    bad.write_text('{"images": [], "categories": 5}')
    start_import(window, bad)
    qtbot.waitUntil(lambda: window.last_error is not None)
    assert "Nothing was imported" in window.last_error and "bad.json" in window.last_error
    assert not controller.busy


def test_nothing_to_merge_disables_import(make_window, photo_folder, tmp_path, qtbot):
    from protolabel.app.dialogs.import_coco import start_import

    path = tmp_path / "other.json"
    path.write_text(
        json.dumps(
            {
                "images": [{"id": 1, "file_name": "/elsewhere/x.png", "width": 5, "height": 5}],
                "annotations": [],
                "categories": [{"id": 1, "name": "a"}],
            }
        )
    )
    window = make_window()
    window.open_folder(photo_folder)
    start_import(window, path)
    dialog = _dialog(window, qtbot)
    assert not dialog.import_button.isEnabled()
    assert "outside the folder: /elsewhere/x.png" in dialog.text.toPlainText()
    dialog.reject()


def test_coco_option_reaches_the_app_and_bad_use_is_refused(monkeypatch, tmp_path, capsys):
    from protolabel.app import cli, launch

    calls = []
    monkeypatch.setattr(launch, "run_app", lambda **kwargs: calls.append(kwargs) or 0)
    folder = tmp_path / "photos"
    folder.mkdir()
    coco = _coco(tmp_path / "server.json")
    assert cli.main([str(folder), "--coco", str(coco)]) == 0
    assert cli.main(["gui", str(folder), "--coco", str(coco)]) == 0
    assert [c["coco"] for c in calls] == [str(coco)] * 2 and calls[0]["folder"] == str(folder)
    for argv in (["gui", "--coco", str(coco)], [str(folder), "--coco", str(tmp_path / "missing.json")]):
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and err.startswith("protolabel gui: ")
    assert len(calls) == 2


def test_import_after_open_shows_the_confirmation(make_window, photo_folder, tmp_path, qtbot):
    from protolabel.app.dialogs.import_coco import import_after_open

    window = make_window()
    window.open_folder(photo_folder)
    import_after_open(window, _coco(tmp_path / "server.json"))
    dialog = _dialog(window, qtbot)
    assert "Will merge 2 images with 3 objects." in dialog.text.toPlainText()
    dialog.accept()
    qtbot.waitUntil(lambda: len(window.canvas.items_by_id) == 2)
    assert window.projects.project.images.status("coffee.png") is ImageStatus.AUTO_LABELED


def test_a_large_file_is_planned_with_a_helper_process_from_the_window(
    make_window, photo_folder, qtbot, tmp_path, monkeypatch
):
    """The plan runs on the window's worker thread; a large file's RLE masks go to a spawned helper process
    from there, and the merge is the same."""
    from protolabel.segmentation.project import importing

    data = json.loads(_coco(tmp_path / "server.json").read_text())
    for k in range(300):  # RLE masks with a hole, enough for a helper's batches
        mask = np.zeros((96, 96), np.uint8)
        mask[5 + k % 20 : 60, 10:70] = 1
        mask[35:45, 30:40] = 0
        counts, value, run = [], 0, 0
        for pixel in mask.flatten(order="F"):
            if pixel != value:
                counts.append(run)
                value, run = pixel, 0
            run += 1
        counts.append(run)
        data["annotations"].append(
            {
                "id": 100 + k,
                "image_id": 1,
                "category_id": 4,
                "source": "auto",
                "segmentation": {"size": [96, 96], "counts": counts},
            }
        )
    coco = tmp_path / "large.json"
    coco.write_text(json.dumps(data))
    helpers = []
    real_pool = importing.postprocess_pool
    monkeypatch.setattr(importing, "postprocess_pool", lambda n: helpers.append(n) or real_pool(n))
    monkeypatch.setattr(importing, "HELPER_MIN_BYTES", 0)
    monkeypatch.setattr(importing.os, "cpu_count", lambda: 2)
    window = make_window()
    window.open_folder(photo_folder)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(coco), "COCO JSON (*.json)"))
    _choose_in_import_dialog(window, qtbot)

    dialog = _dialog(window, qtbot)
    assert helpers == [1]
    assert "Will merge 2 images with 303 objects." in dialog.text.toPlainText()
    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Merged 2 images with 303 objects" in window.statusBar().currentMessage(), timeout=20_000)
    holes = [o for o in window.projects.project.document("astronaut.png").objects if o.shape.has_holes]
    assert len(holes) == 300


def test_imported_classes_are_drawn_and_listed_in_their_project_colours(
    make_window, photo_folder, qtbot, tmp_path, monkeypatch
):
    """Classes that arrive with an import take their project colours at once in the canvas and the objects
    list, the colours the classes dock shows (not a stand-in until the folder is opened again)."""
    from protolabel.app.colors import label_color
    from protolabel.app.docks.labels import NAME

    coco = _coco(tmp_path / "server.json")
    window = make_window()
    window.open_folder(photo_folder)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(coco), "COCO JSON (*.json)"))
    _choose_in_import_dialog(window, qtbot)
    qtbot.mouseClick(_dialog(window, qtbot).import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(window.canvas.items_by_id) == 2 and not window.canvas.building)

    dock = window.labels_dock
    shown = {
        dock.table.item(row, NAME).text(): dock.table.item(row, NAME).data(Qt.ItemDataRole.UserRole)
        for row in range(dock.table.rowCount())
    }
    assert {"helmet", "flag"} <= set(shown)
    for item in window.canvas.items_by_id.values():
        assert item._color.name() == shown[item.obj.label] == label_color(item.obj.label).name()
    listed = window.objects_dock.list
    for row in range(listed.count()):
        label = listed.item(row).text().split(" ")[0]
        swatch = listed.item(row).icon().pixmap(12, 12).toImage().pixelColor(6, 6).name()
        assert swatch == shown[label]
    box = window.objects_dock.label_box
    for index in range(box.count()):
        if box.itemText(index) in shown:
            assert box.itemIcon(index).pixmap(12, 12).toImage().pixelColor(6, 6).name() == shown[box.itemText(index)]


def test_new_polygons_take_an_imported_class_unless_a_name_was_typed(
    make_window, photo_folder, qtbot, tmp_path, monkeypatch
):
    """In a project without classes the New polygons box holds the stand-in "object"; classes an import brings
    replace it (box and the class new polygons get agree), but a name the person typed stays."""
    coco = _coco(tmp_path / "server.json")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(coco), "COCO JSON (*.json)"))
    for typed in (None, "kite"):
        folder = tmp_path / f"photos-{typed}"
        folder.mkdir()
        for photo in photo_folder.iterdir():
            if photo.is_file():
                (folder / photo.name).write_bytes(photo.read_bytes())
        window = make_window()
        window.open_folder(folder)
        box = window.objects_dock.label_box
        assert not window.projects.project.labels and box.currentText() == "object"
        if typed:
            box.setEditText(typed)
        _choose_in_import_dialog(window, qtbot)
        qtbot.mouseClick(_dialog(window, qtbot).import_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda w=window: len(w.canvas.items_by_id) == 2 and not w.canvas.building)
        expected = typed or window.projects.project.labels[0]
        assert expected in ("kite", "helmet", "flag")
        assert box.currentText() == expected
        assert window.editing.new_object_label == expected
        window.close()
