"""Editing tracks from the Tracks dock: keys and menu commands, each one undo step, refusals said plainly."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMainWindow

from protolabel.app.controllers.track_edits import TrackEditor
from protolabel.app.controllers.tracks import TracksController
from protolabel.app.docks.tracks import TracksDock
from protolabel.app.undo import UndoHistory
from protolabel.segmentation.project.records import ImageStatus
from protolabel.segmentation.project.timeline import Timeline
from protolabel.segmentation.project.track_list import TrackList
from tests.segmentation.project.conftest import make_square
from tests.segmentation.project.test_project_tracks import labels, tracked_project


class Edited:
    """A project (clip.mp4: 'cat' on frames 0-3, 'dog' on 2-3) in a window with the Tracks dock wired as the
    app wires it; answers to the dialogs are set per test."""

    def __init__(self, qtbot, folder) -> None:
        self.project, self.keys, self.cat, self.dog = tracked_project(folder, make_square)
        self.errors: list[str] = []
        self.messages: list[str] = []
        self.asked: list[str] = []
        self.history = UndoHistory(self.errors.append)
        self.undo, self.redo = self.history.create_actions(None)
        self.window = QMainWindow()
        qtbot.addWidget(self.window)
        self.window_delete = QAction("Delete object", self.window)  # the window's own Delete (the canvas's)
        self.window_delete.setShortcut(QKeySequence("Delete"))
        self.window.addAction(self.window_delete)
        self.controller = TracksController(TrackList(), Timeline(6))
        self.dock = TracksDock(self.controller.tracks, self.window)
        self.window.setCentralWidget(self.dock)
        self.editor = TrackEditor(self.controller, self.history)
        self.editor.error.connect(self.errors.append)
        self.editor.message.connect(self.messages.append)
        self.editor.class_names = lambda: ("cat", "dog")
        self.answer: object = None
        self.editor.ask_class = lambda current, names: self._ask(current, names)
        self.editor.confirm = lambda text: self._ask(text)
        for name, command in {
            "reclass": self.editor.reclass,
            "merge": self.editor.merge,
            "split": self.editor.split,
            "delete": self.editor.delete,
            "delete_from": lambda: self.editor.delete(from_cursor=True),
        }.items():
            self.dock.actions[name].triggered.connect(lambda _c=False, command=command: command())
        self.controller.open_project(self.project)
        self.controller.show_video("clip.mp4")
        self.window.show()
        qtbot.waitExposed(self.window)
        self.window.activateWindow()
        qtbot.waitUntil(self.window.isActiveWindow)
        self.dock.table.setFocus()

    def _ask(self, *question: object) -> object:
        self.asked.append(" | ".join(map(str, question)))
        return self.answer

    def key(self, key: Qt.Key, modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
        QTest.keyClick(self.dock.table, key, modifiers)

    def rows(self) -> list[tuple[int, str, int, int]]:
        return [(r.track_id, r.class_name, r.first_frame, r.last_frame) for r in self.controller.tracks.rows]


@pytest.fixture
def edited(qtbot, tmp_path):
    made = Edited(qtbot, tmp_path)
    yield made
    made.project.close()


def test_ctrl_l_reclasses_the_whole_track_in_one_undo_step(edited):
    edited.controller.tracks.select(edited.dog)
    edited.answer = "wolf"
    edited.key(Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert edited.asked == ["dog | ['cat', 'dog']"]  # its own class offered first among the project's
    assert labels(edited.project, edited.keys[2]) == ["cat", "wolf"] and labels(edited.project, edited.keys[3]) == [
        "cat",
        "wolf",
    ]
    assert (edited.dog, "wolf", 2, 3) in edited.rows()
    assert edited.undo.text() == f"&Undo Change track {edited.dog} to wolf"
    edited.undo.trigger()
    assert labels(edited.project, edited.keys[3]) == ["cat", "dog"] and not edited.errors


def test_merging_tracks_that_share_a_frame_is_refused_with_the_reason(edited):
    edited.controller.tracks.choose([edited.cat, edited.dog], edited.cat)
    assert edited.dock.actions["merge"].isEnabled() and not edited.dock.actions["split"].isEnabled()
    edited.key(Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    assert edited.errors == [
        f"Could not merge track {edited.dog} into {edited.cat}: tracks {edited.cat} and {edited.dog} both have "
        "an object on frame(s) 2, 3; delete one of them there first, then merge"
    ]
    assert edited.rows() == [(edited.cat, "cat", 0, 3), (edited.dog, "dog", 2, 3)] and not edited.undo.isEnabled()


def test_split_at_the_current_frame_then_merge_back_each_undoable(edited):
    tracks, timeline = edited.controller.tracks, edited.controller.timeline
    tracks.select(edited.cat)
    timeline.scrub_to(0)
    edited.key(Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert "cannot be split at frame 0" in edited.errors[-1]  # its first frame: nothing would be left
    timeline.scrub_to(2)
    edited.key(Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    (new,) = {r.track_id for r in tracks.rows} - {edited.cat, edited.dog}
    assert edited.rows() == [(edited.cat, "cat", 0, 1), (edited.dog, "dog", 2, 3), (new, "cat", 2, 3)]
    edited.dock.table.selectAll()  # the view's multi-selection reaches the list
    assert tracks.chosen == (edited.cat, edited.dog, new)
    assert not edited.dock.actions["merge"].isEnabled()  # three chosen: a merge takes two
    tracks.choose([edited.cat, new], edited.cat)
    edited.dock.actions["merge"].trigger()
    assert edited.rows() == [(edited.cat, "cat", 0, 3), (edited.dog, "dog", 2, 3)]
    assert edited.messages[-1] == f"Merge track {new} into {edited.cat} (Ctrl+Z undoes it)"
    edited.undo.trigger()
    assert edited.rows() == [(edited.cat, "cat", 0, 1), (edited.dog, "dog", 2, 3), (new, "cat", 2, 3)]
    assert edited.undo.text() == f"&Undo Split track {edited.cat} at frame 2" and len(edited.errors) == 1


def test_delete_key_asks_with_the_object_count_and_takes_the_key_from_the_window(edited):
    fired = []
    edited.window_delete.triggered.connect(lambda: fired.append(True))
    edited.controller.tracks.select(edited.cat)
    edited.answer = False
    edited.key(Qt.Key.Key_Delete)
    assert edited.asked[-1].startswith(f"Delete track {edited.cat} (cat): its 4 objects on frames 0–3?")
    assert len(edited.rows()) == 2 and not fired  # declined; and the window's Delete did not fire
    edited.controller.timeline.scrub_to(3)
    edited.answer = True
    edited.key(Qt.Key.Key_Delete, Qt.KeyboardModifier.ShiftModifier)
    assert edited.asked[-1].startswith(f"Delete track {edited.cat} (cat) from frame 3 on: 1 object?")
    assert edited.rows() == [(edited.cat, "cat", 0, 2), (edited.dog, "dog", 2, 3)]
    assert edited.project.images.status(edited.keys[3]) is ImageStatus.EDITED
    edited.key(Qt.Key.Key_Delete)
    assert edited.rows() == [(edited.dog, "dog", 2, 3)] and not fired
    edited.undo.trigger()
    edited.undo.trigger()
    assert edited.rows() == [(edited.cat, "cat", 0, 3), (edited.dog, "dog", 2, 3)] and not edited.errors


def test_an_edit_over_a_change_made_since_is_refused_and_the_list_reread(edited):
    edited.controller.tracks.select(edited.dog)
    edited.project.store.delete_track(edited.dog)  # another program, behind this window's back
    edited.answer = "wolf"
    edited.dock.actions["reclass"].trigger()
    assert edited.errors == [
        f"Could not change track {edited.dog}'s class: track {edited.dog} is not a track of this project "
        "(deleted since?)"
    ]
    assert not edited.undo.isEnabled()


def test_two_track_steps_undone_one_after_the_other(edited):
    edited.controller.tracks.select(edited.dog)
    edited.answer = "wolf"
    edited.dock.actions["reclass"].trigger()
    edited.answer = "fox"
    edited.dock.actions["reclass"].trigger()
    edited.undo.trigger()
    edited.undo.trigger()
    assert not edited.errors, edited.errors
    assert (edited.dog, "dog", 2, 3) in edited.rows()
