"""Screenshot of Project ▸ Attributes… over the window: the schema being edited (a renamed attribute, a choice
with its choices and default) beside the Objects dock's attributes panel for the selected object, under Xvfb.

    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/make_attribute_schema_screenshot.py

Needs no model: the three photos and objects of make_classes_screenshot.py. Saves `attribute-schema.png` here
(the screen under the window, so the dialog is in it).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from make_classes_screenshot import SIZE, write_project  # the scripts beside this one
from PySide6.QtWidgets import QApplication
from window_driving import settle, wait

HERE = Path(__file__).resolve().parent
SCHEMA = [
    {"name": "occluded", "kind": "checkbox"},
    {"name": "pose", "kind": "choice", "choices": ["front", "side", "back"], "default": "front"},
    {"name": "note", "kind": "text"},
]


def main() -> None:
    app = QApplication(sys.argv[:1])

    from PySide6.QtCore import QSettings

    from protolabel.app.dialogs.attribute_schema import AttributeSchemaDialog
    from protolabel.app.main_window import MainWindow
    from protolabel.segmentation.project.attribute_edit import plan_schema_edit
    from protolabel.segmentation.project.attributes import ATTRIBUTE_SCHEMA_KEY, project_attribute_schema
    from protolabel.segmentation.project.store import ProjectStore

    with tempfile.TemporaryDirectory() as tmp:
        folder = write_project(Path(tmp), SIZE)
        with ProjectStore.open(folder) as store:
            store.set_setting(ATTRIBUTE_SCHEMA_KEY, SCHEMA)
            person = next(o for o in store.objects("astronaut.png") if o.label == "person")
            store.write_change(
                "astronaut.png", saved=[person.with_changes(attributes={"pose": "front", "note": "holds a helmet"})]
            )
        window = MainWindow(settings=QSettings(str(Path(tmp) / "s.ini"), QSettings.Format.IniFormat))
        window.resize(1400, 860)
        window.move(0, 0)
        window.show()
        window.open_folder(folder)
        wait(app, lambda: window.projects.project is not None and len(window.canvas.items_by_id) == 3)
        project = window.projects.project
        person = next(o for o in project.current.objects if o.label == "person")
        window.selection.set([person.id])
        settle(app, 0.3)
        dialog = AttributeSchemaDialog(
            project_attribute_schema(project.store), lambda s, r: plan_schema_edit(project.store, s, r), window
        )
        dialog.show()
        dialog.resize(660, 360)
        dialog.move(272, 150)  # over the canvas: the Objects dock's attributes panel stays in view
        dialog.name.setFocus()
        dialog.name.setText("hidden")  # a rename in progress: the list says what it was
        dialog.name.textEdited.emit("hidden")
        dialog.add_row()
        dialog.name.setText("lighting")
        dialog.name.textEdited.emit("lighting")
        dialog.kind.setCurrentIndex(1)
        dialog.choices.setPlainText("day\nnight\nindoor")
        settle(app, 0.8)
        geometry = window.frameGeometry()
        app.primaryScreen().grabWindow(0, geometry.x(), geometry.y(), geometry.width(), geometry.height()).save(
            str(HERE / "attribute-schema.png")
        )
        dialog.close()
        window.close()


if __name__ == "__main__":
    main()
