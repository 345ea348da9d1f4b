"""The Tracks dock: a video's tracks as a sortable table; selecting a row selects the track.

It shows a TrackList and selects through it (several rows: the list's chosen tracks, the current row its
selected one); `track_selected` tells the wiring (timeline bar, canvas) whichever way the selection
changed, and `track_activated` (double-click, Enter) asks to go to the track's first frame. Sorting is
TrackList's `sort_rows`, so the table only reorders what it is given. The edit commands (`actions`: in
the context menu, and on keys while the table has focus) are only triggered here; the wiring does them.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import QAbstractItemView, QDockWidget, QHeaderView, QMenu, QSplitter, QTableView, QWidget

from protolabel.segmentation.project.track_list import COLUMNS, TrackList, TrackRow, sort_rows

TRACK, CLASS, FIRST, LAST, LENGTH, REVIEWED = range(len(COLUMNS))
_NUMERIC = (TRACK, FIRST, LAST, LENGTH, REVIEWED)

Index = QModelIndex | QPersistentModelIndex

# The edit commands: name, text, key (the Objects dock's for the same edit where it has one), how many
# tracks must be chosen for it, tooltip.
EDITS: tuple[tuple[str, str, str, int, str], ...] = (
    ("reclass", "Change Track &Class…", "Ctrl+L", 1, "Give every object of the track another class"),
    ("merge", "&Merge Tracks", "Ctrl+M", 2, "Make the two selected tracks one (the current row's class)"),
    ("split", "&Split at Current Frame", "Ctrl+Shift+M", 1, "The track's objects from the frame shown on: a new track"),
    ("delete", "&Delete Track…", "Delete", 1, "Delete every object of the track"),
    ("delete_from", "Delete From Current &Frame On…", "Shift+Delete", 1, "Delete its objects from the frame shown on"),
)
_ROOT = QModelIndex()  # the table's invalid parent index (immutable, so one is enough)


def reviewed_text(row: TrackRow) -> str:
    """The share as a whole percent that says 100 only when every frame is reviewed (and 0 only when none is)."""
    share = row.reviewed_share
    percent = round(share * 100)
    if share < 1 and percent == 100:
        percent = 99
    elif share > 0 and percent == 0:
        percent = 1
    return f"{percent} %"


def _alignment(column: int) -> Qt.AlignmentFlag:
    side = Qt.AlignmentFlag.AlignRight if column in _NUMERIC else Qt.AlignmentFlag.AlignLeft
    return side | Qt.AlignmentFlag.AlignVCenter


class _FittingTable(QTableView):
    """A table whose size hint is as wide as its columns, so the dock opens showing all of them."""

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        header = self.horizontalHeader()
        columns = sum(
            max(self.sizeHintForColumn(c), header.sectionSizeHint(c)) for c in range(header.count())
        )  # from the contents, not the current widths: a stretched column would feed back into the hint
        width = columns + self.verticalScrollBar().sizeHint().width() + 2 * self.frameWidth()
        return QSize(max(hint.width(), width), hint.height())


class TrackTableModel(QAbstractTableModel):
    """The rows of a TrackList in the order of the last sort (track id until then)."""

    def __init__(self, tracks: TrackList, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tracks = tracks
        self._sort = (TRACK, False)
        self._rows: list[TrackRow] = sort_rows(tracks.rows, TRACK)

    def rowCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][0]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.TextAlignmentRole:
            return int(_alignment(section))  # titles line up with their column's values
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole and section == LENGTH:
            return "Frames where the track has an object"
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        row, column = self._rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            values = (
                str(row.track_id),
                row.class_name,
                f"{row.first_frame:,}",
                f"{row.last_frame:,}",
                f"{row.length:,}",
                reviewed_text(row),
            )
            return values[column]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(_alignment(column))
        if role == Qt.ItemDataRole.ToolTipRole:
            span = row.last_frame - row.first_frame + 1
            return (
                f"Track {row.track_id} ({row.class_name}): frames {row.first_frame:,}–{row.last_frame:,}, "
                f"an object on {row.length:,} of {span:,}, {row.reviewed:,} reviewed"
            )
        if role == Qt.ItemDataRole.UserRole:
            return row.track_id
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._sort = (column, order == Qt.SortOrder.DescendingOrder)
        self.layoutAboutToBeChanged.emit()
        before = self.persistentIndexList()  # the view's selection and current row: keep them on their tracks
        ids = [self._rows[index.row()].track_id for index in before]
        self._rows = sort_rows(self._rows, *self._sort)
        row_of = {row.track_id: i for i, row in enumerate(self._rows)}
        self.changePersistentIndexList(before, [self.index(row_of[t], i.column()) for i, t in zip(before, ids)])
        self.layoutChanged.emit()

    def reload(self) -> None:
        """Re-read the TrackList's rows in the current sort order."""
        self.beginResetModel()
        self._rows = sort_rows(self.tracks.rows, *self._sort)
        self.endResetModel()

    def row_of(self, track_id: int) -> int | None:
        """The table row showing this track."""
        return next((i for i, row in enumerate(self._rows) if row.track_id == track_id), None)

    def track_at(self, row: int) -> int:
        return self._rows[row].track_id


class TracksDock(QDockWidget):
    """Lists the tracks of the video shown; one row selected at a time, the same as TrackList.selected."""

    track_selected = Signal(object)  # track id, None when no track is selected
    track_activated = Signal(int)  # double-click or Enter on a row: go to the track's first frame

    def __init__(self, tracks: TrackList, parent: QWidget | None = None) -> None:
        super().__init__("Tracks", parent)
        self.setObjectName("tracks_dock")
        self.tracks = tracks
        self.model = TrackTableModel(tracks, self)
        self.table = _FittingTable()
        self.table.setObjectName("track_table")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(TRACK, Qt.SortOrder.AscendingOrder)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(CLASS, QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().selectionChanged.connect(self._on_rows_selected)
        self.table.activated.connect(lambda index: self.track_activated.emit(self.model.track_at(index.row())))
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.table)
        self.splitter.setChildrenCollapsible(False)
        self.setWidget(self.splitter)
        self.actions: dict[str, QAction] = {}
        for name, text, key, _count, tip in EDITS:
            action = QAction(text, self.table)
            action.setShortcut(QKeySequence(key))  # shown in the menu; the keys come through eventFilter
            action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
            action.setShortcutVisibleInContextMenu(True)
            action.setToolTip(tip)
            self.actions[name] = action
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._show_menu)
        self.table.installEventFilter(self)
        events = tracks.events
        slots = (
            (events.rows_changed, self._on_rows_changed),
            (events.selection_changed, self._on_selection),
            (events.chosen_changed, self._on_chosen),
        )
        for signal, slot in slots:
            signal.connect(slot)
        # the list outlives this dock: stop calling a dock whose C++ side is gone
        self.destroyed.connect(lambda *_: [signal.disconnect(slot) for signal, slot in slots])
        self._show_selection()
        self._enable_actions()

    def add_below(self, widget: QWidget) -> None:
        """Show a widget under the table (the selected track's heat strip), the table keeping the stretch."""
        self.splitter.addWidget(widget)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(self.splitter.count() - 1, 0)

    # ------------------------------------------------------------------ model -> view
    def _on_rows_changed(self) -> None:
        self.model.reload()  # a reset clears the view's selection; put the list's back
        self._show_selection()

    def _on_selection(self, track_id: int | None) -> None:
        self._show_selection()
        self.track_selected.emit(track_id)

    def _on_chosen(self, _chosen: object) -> None:
        self._show_selection()
        self._enable_actions()

    def _shown_tracks(self) -> tuple[tuple[int, ...], int | None]:
        selection = self.table.selectionModel()
        chosen = tuple(sorted(self.model.track_at(i.row()) for i in selection.selectedRows()))
        current = selection.currentIndex()
        return chosen, (self.model.track_at(current.row()) if current.isValid() and chosen else None)

    def _show_selection(self) -> None:
        """Select the chosen tracks' rows, the selected one current; the echo back to the list is a no-op."""
        chosen, selected = self.tracks.chosen, self.tracks.selected
        if self._shown_tracks() == (chosen, selected):
            return
        selection = self.table.selectionModel()
        rows = [r for r in (self.model.row_of(t) for t in chosen) if r is not None]
        if not rows or selected is None:
            selection.clearSelection()
            return
        whole = QItemSelection()
        last = self.model.columnCount() - 1
        for row in rows:
            whole.select(self.model.index(row, 0), self.model.index(row, last))
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        selection.select(whole, flags)
        current = self.model.index(self.model.row_of(selected) or 0, 0)
        selection.setCurrentIndex(current, QItemSelectionModel.SelectionFlag.NoUpdate)
        self.table.scrollTo(current)

    def _enable_actions(self) -> None:
        count = len(self.tracks.chosen)
        for name, _text, _key, needed, _tip in EDITS:
            self.actions[name].setEnabled(count == needed)

    # ------------------------------------------------------------------ view -> model
    def _on_rows_selected(self, *_args: object) -> None:
        chosen, current = self._shown_tracks()
        if chosen and current not in chosen:
            current = chosen[0]  # the current row was deselected (Ctrl+click): another chosen one leads
        self.tracks.choose(chosen, current)

    def _show_menu(self, point: QPoint) -> None:
        menu = QMenu(self.table)
        for name in self.actions:
            menu.addAction(self.actions[name])
            if name in ("split",):
                menu.addSeparator()
        menu.exec(self.table.viewport().mapToGlobal(point))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """The edit keys while the table has focus: taken before the window's shortcuts on the same keys
        (Delete, Ctrl+L, Ctrl+M act on the canvas's objects elsewhere)."""
        if watched is self.table and event.type() in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress):
            assert isinstance(event, QKeyEvent)
            pressed = QKeySequence(event.keyCombination())
            action = next((a for a in self.actions.values() if a.shortcut() == pressed), None)
            if action is not None:
                event.accept()
                if event.type() == QEvent.Type.KeyPress and action.isEnabled():
                    action.trigger()
                return True
        return super().eventFilter(watched, event)
