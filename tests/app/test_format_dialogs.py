"""File ▸ Import… recognises each format of the registry (or says why not), and File ▸ Export… writes any of them
with the format's notes in the status bar."""

from __future__ import annotations

import json

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.geometry.shapes import Polygon, Shape
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus
from protolabel.segmentation.project.store import ProjectStore


def _donut_on_astronaut(folder):
    donut = Shape(
        (
            Polygon(
                np.array([[10, 10], [80, 10], [80, 80], [10, 80]], float),
                (np.array([[30, 30], [60, 30], [60, 60], [30, 60]], float),),
            ),
        )
    )
    with ProjectStore.open(folder) as store:
        store.write_change(
            "astronaut.png", saved=[AnnotatedObject("ring", donut, Provenance.EDITED)], status=ImageStatus.EDITED
        )


def _export_dialog(make_window, photo_folder, qtbot):
    """A window on the folder (one object with a hole on astronaut.png) and its Export dialog."""
    from protolabel.app.dialogs.export import ExportDialog

    _donut_on_astronaut(photo_folder)
    window = make_window()
    window.open_folder(photo_folder)
    dialog = ExportDialog(photo_folder / "annotations.json", window.exporter.counts(), photo_folder, window)
    qtbot.addWidget(dialog)
    return window, dialog


def test_the_import_dialog_recognises_each_format(make_window, photo_folder, qtbot, tmp_path):
    from protolabel.app.dialogs.import_coco import ImportSourceDialog

    coco = tmp_path / "c.json"
    coco.write_text(json.dumps({"images": [], "annotations": [], "categories": []}))
    labelme = tmp_path / "lm"
    labelme.mkdir()
    (labelme / "astronaut.json").write_text(json.dumps({"shapes": [], "imagePath": "astronaut.png"}))
    yolo = tmp_path / "yolo"
    yolo.mkdir()
    (yolo / "data.yaml").write_text("names: [ring]\n")
    window = make_window()
    dialog = ImportSourceDialog(photo_folder, window)
    qtbot.addWidget(dialog)
    assert not dialog.next_button.isEnabled()
    for path, title in ((coco, "COCO"), (labelme, "labelme"), (yolo / "data.yaml", "YOLO"), (yolo, "YOLO")):
        dialog.path_edit.setText(str(path))
        assert dialog.found.text().startswith(f"Recognised: <b>{title}") and dialog.next_button.isEnabled()
    dialog.path_edit.setText(str(photo_folder / "astronaut.png"))
    assert "not recognised as any of the formats" in dialog.found.text() and not dialog.next_button.isEnabled()
    dialog.format_box.setCurrentIndex(dialog.format_box.findData("labelme"))  # chosen by hand
    assert dialog.next_button.isEnabled() and dialog.format.name == "labelme"
    dialog.path_edit.setText(str(tmp_path / "gone"))
    assert "no such file or folder" in dialog.found.text() and not dialog.next_button.isEnabled()


def test_export_yolo_then_import_it_back_through_the_dialogs(make_window, photo_folder, qtbot, tmp_path):
    window, dialog = _export_dialog(make_window, photo_folder, qtbot)
    dialog.format_box.setCurrentIndex(dialog.format_box.findData("yolo"))
    assert dialog.path == photo_folder.parent / "photos-yolo" and not dialog.validate_box.isVisible()
    assert "holes are filled" in dialog.carries.text()
    dialog.path_edit.setText(str(photo_folder / "inside"))
    assert "inside the project folder" in dialog.problem()
    out = tmp_path / "yolo-out"
    dialog.path_edit.setText(str(out))
    assert dialog.problem() == ""
    window.exporter.export(dialog.path, verified_only=False, fmt=dialog.format)
    window.exporter.wait()
    qtbot.waitUntil(lambda: "Wrote 1 object in 1 image" in window.statusBar().currentMessage())
    assert "1 object with holes written filled" in window.statusBar().currentMessage()
    assert (out / "labels" / "astronaut.txt").read_text().startswith("0 ")

    window.actions_by_name["import_coco"].trigger()
    source = window.findChild(QDialog, "import_source_dialog")
    qtbot.waitUntil(source.isVisible)
    source.path_edit.setText(str(out))
    assert "YOLO" in source.found.text()
    qtbot.mouseClick(source.next_button, Qt.MouseButton.LeftButton)

    def confirmation():
        found = [d for d in window.findChildren(QDialog, "import_dialog") if d.isVisible()]
        return found[0] if found else None

    qtbot.waitUntil(lambda: confirmation() is not None)
    confirm = confirmation()
    assert confirm.windowTitle() == "Import YOLO segmentation (Ultralytics)"
    # astronaut.png was edited here: a person's work is never overwritten, and the summary says so
    assert "already edited or verified in the project, left as it is: astronaut.png" in confirm.text.toPlainText()
    assert not confirm.import_button.isEnabled()
    confirm.reject()


def test_voc_and_cvat_exported_from_the_dialog_are_recognised_on_import(make_window, photo_folder, qtbot, tmp_path):
    from protolabel.app.dialogs.import_coco import ImportSourceDialog

    window, dialog = _export_dialog(make_window, photo_folder, qtbot)
    assert dialog.format_box.findData("voc") >= 0 and dialog.format_box.findData("cvat") >= 0
    dialog.format_box.setCurrentIndex(dialog.format_box.findData("cvat"))
    assert dialog.path == photo_folder.parent / "photos-cvat.xml" and "images/ beside" in dialog.carries.text()
    dialog.format_box.setCurrentIndex(dialog.format_box.findData("voc"))
    assert dialog.path == photo_folder.parent / "photos-voc" and "JPEGImages/" in dialog.carries.text()
    outputs = {"voc": tmp_path / "voc-out", "cvat": tmp_path / "cvat-out" / "annotations.xml"}
    outputs["cvat"].parent.mkdir()  # the folder the user keeps images/ in
    for name, out in outputs.items():
        window.exporter.export(out, verified_only=False, fmt=_by_name(name))
        window.exporter.wait()
    assert (outputs["voc"] / "JPEGImages" / "astronaut.png").is_file() and outputs["cvat"].is_file()
    source = ImportSourceDialog(photo_folder, window)
    qtbot.addWidget(source)
    for path, title in (
        (outputs["voc"], "Pascal VOC"),
        (outputs["cvat"], "CVAT for images"),
        (outputs["cvat"].parent, "CVAT for images"),
    ):
        source.path_edit.setText(str(path))
        assert source.found.text().startswith(f"Recognised: <b>{title}") and source.next_button.isEnabled()


def _by_name(name):
    from protolabel.segmentation.formats.registry import by_name

    return by_name(name)
