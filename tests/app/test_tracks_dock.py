"""The Tracks dock over one TrackList: rows, selecting both ways, sorting that keeps the selection."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from protolabel.app.docks.tracks import CLASS, LENGTH, REVIEWED, TRACK, TracksDock, reviewed_text
from protolabel.segmentation.project.track_list import TrackList, TrackRow

ROWS = (
    TrackRow(3, "dog", 10, 40, 31, 31),
    TrackRow(1, "person", 0, 99, 90, 45),
    TrackRow(7, "cat", 50, 59, 10, 0),
    TrackRow(12, "person", 1200, 3999, 2800, 2799),
)


@pytest.fixture
def dock(qtbot):
    widget = TracksDock(TrackList(ROWS))
    qtbot.addWidget(widget)
    widget.resize(460, 300)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def _column(dock: TracksDock, column: int) -> list[str]:
    model = dock.table.model()
    return [model.index(r, column).data() for r in range(model.rowCount())]


def _selected_tracks(dock: TracksDock) -> list[str]:
    return [index.siblingAtColumn(TRACK).data() for index in dock.table.selectionModel().selectedRows()]


def _click_row(dock: TracksDock, row: int) -> None:
    rect = dock.table.visualRect(dock.table.model().index(row, CLASS))
    QTest.mouseClick(dock.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_rows_in_track_order_with_their_values(dock):
    assert _column(dock, TRACK) == ["1", "3", "7", "12"]
    assert dock.table.model().index(3, LENGTH).data() == "2,800"
    assert _column(dock, REVIEWED) == ["50 %", "100 %", "0 %", "99 %"]  # 2799 of 2800 is not all


def test_clicking_a_row_selects_its_track(dock):
    selected = []
    dock.track_selected.connect(selected.append)
    _click_row(dock, 2)
    assert dock.tracks.selected == 7 and selected == [7]
    _click_row(dock, 0)
    assert dock.tracks.selected == 1 and selected == [7, 1]


def test_a_selection_made_elsewhere_shows_in_the_table(dock):
    selected = []
    dock.track_selected.connect(selected.append)
    dock.tracks.select(12)
    assert _selected_tracks(dock) == ["12"] and selected == [12]
    dock.tracks.select(None)
    assert _selected_tracks(dock) == [] and selected == [12, None]


def test_sorting_keeps_the_selected_track(dock):
    dock.tracks.select(3)
    dock.table.sortByColumn(LENGTH, Qt.SortOrder.DescendingOrder)
    assert _column(dock, TRACK) == ["12", "1", "3", "7"]
    assert _selected_tracks(dock) == ["3"] and dock.tracks.selected == 3
    dock.table.sortByColumn(REVIEWED, Qt.SortOrder.AscendingOrder)
    assert _column(dock, TRACK) == ["7", "1", "12", "3"]
    _click_row(dock, 0)  # a click after sorting selects the row's track, not the row's old track
    assert dock.tracks.selected == 7


def test_new_rows_keep_the_sort_and_a_selection_whose_track_is_still_listed(dock):
    dock.table.sortByColumn(CLASS, Qt.SortOrder.AscendingOrder)
    dock.tracks.select(1)
    dock.tracks.set_rows([*ROWS, TrackRow(20, "bird", 0, 1, 2, 0)])
    assert _column(dock, CLASS) == ["bird", "cat", "dog", "person", "person"]
    assert _selected_tracks(dock) == ["1"] and dock.tracks.selected == 1
    selected = []
    dock.track_selected.connect(selected.append)
    dock.tracks.set_rows(ROWS[:1])  # track 1 gone
    assert _column(dock, TRACK) == ["3"] and _selected_tracks(dock) == [] and selected == [None]
    dock.tracks.set_rows(())
    assert dock.table.model().rowCount() == 0 and dock.tracks.selected is None


def test_double_click_or_enter_asks_for_the_track(dock, qtbot):
    rect = dock.table.visualRect(dock.table.model().index(1, CLASS))
    activated = []
    dock.track_activated.connect(activated.append)
    QTest.mouseClick(dock.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    QTest.mouseDClick(dock.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert activated == [3]
    dock.tracks.select(12)
    QTest.keyClick(dock.table, Qt.Key.Key_Return)
    assert activated == [3, 12]


def test_reviewed_text_says_all_and_none_only_when_true():
    def row(reviewed: int, length: int) -> TrackRow:
        return TrackRow(1, "a", 0, length - 1, length, reviewed)

    assert reviewed_text(row(0, 5)) == "0 %"
    assert reviewed_text(row(1, 1000)) == "1 %"
    assert reviewed_text(row(1, 3)) == "33 %"
    assert reviewed_text(row(999, 1000)) == "99 %"
    assert reviewed_text(row(7, 7)) == "100 %"


def test_a_closed_dock_stops_listening_to_the_list(qtbot):
    tracks = TrackList(ROWS)
    dock = TracksDock(tracks)
    dock.deleteLater()
    qtbot.waitUntil(lambda: len(tracks.events.selection_changed) == 0, timeout=2000)
    tracks.select(3)  # a deleted dock would raise here
    tracks.set_rows(ROWS[:2])
