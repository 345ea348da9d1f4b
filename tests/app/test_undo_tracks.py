"""Track steps on the app's one undo history: Ctrl+Z / Redo act on them in step order with image steps."""

from __future__ import annotations

from protolabel.app.undo import UndoHistory
from tests.segmentation.project.conftest import make_square
from tests.segmentation.project.test_project_tracks import labels, tracked_project


def test_a_track_step_is_undone_and_redone_in_order_with_an_image_step(qapp, tmp_path):
    project, keys, cat, dog = tracked_project(tmp_path, make_square)
    errors: list[str] = []
    history = UndoHistory(errors.append)
    undo, redo = history.create_actions(None)
    history.activate(keys[1])
    history.push_track_edit(project, project.edit_tracks(lambda store: store.set_track_class(dog, "wolf")))
    doc = project.document(keys[1])
    history.push(keys[1], doc, doc.apply(doc.add_object("cat", make_square(40, 30))))
    assert undo.text() == "&Undo Draw polygon"
    history.undo()  # the image step is newer
    assert labels(project, keys[1]) == ["cat"] and labels(project, keys[2]) == ["cat", "wolf"]
    assert undo.text() == f"&Undo Change track {dog} to wolf"
    history.undo()
    assert labels(project, keys[3]) == ["cat", "dog"]
    assert redo.text() == f"&Redo Change track {dog} to wolf"
    history.redo()
    assert labels(project, keys[3]) == ["cat", "wolf"] and not errors
    project.close()
