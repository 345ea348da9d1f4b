"""The Tracks dock's edit commands: re-class, merge, split at the frame shown, delete (whole or from it on).

Each runs as one `Project.edit_tracks` call and becomes one step of the window's undo history; an edit the
store refuses (tracks that share a frame, a row changed by another program since) is said in `error` and
changes nothing. Asking (which class, are you sure) goes through `ask_class` and `confirm`, which the
wiring sets to dialogs and tests to answers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QInputDialog, QMessageBox, QWidget

from protolabel.segmentation.project.records import TrackEdit
from protolabel.segmentation.project.store import ProjectStoreError, StaleEditError
from protolabel.segmentation.project.track_list import TrackList
from protolabel.segmentation.project.video_store import VideoStore

AskClass = Callable[[str, Sequence[str]], "str | None"]  # (the track's class, the project's) -> chosen, None: cancel
Confirm = Callable[[str], bool]


def _objects(count: int) -> str:
    return "1 object" if count == 1 else f"{count:,} objects"


class TrackEditor(QObject):
    """Edits the chosen tracks of a TrackList through the project of `source` (a TracksController)."""

    message = Signal(str)
    error = Signal(str)

    def __init__(self, source: Any, history: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.source = source  # has .project, .tracks, .timeline, .refresh()
        self.history = history  # UndoHistory (push_track_edit)
        self.class_names: Callable[[], Sequence[str]] = lambda: ()
        self.ask_class: AskClass = lambda _label, _names: None
        self.confirm: Confirm = lambda _text: False

    @property
    def tracks(self) -> TrackList:
        return self.source.tracks  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ commands
    def reclass(self) -> None:
        track_id = self._one("change the class of")
        if track_id is None:
            return
        current = self.tracks.row(track_id).class_name
        names = list(self.class_names())
        if current not in names:
            names.append(current)
        label = self.ask_class(current, names)
        if label is None or not label.strip() or label.strip() == current:
            return
        self._edit(lambda store: store.set_track_class(track_id, label.strip()), f"change track {track_id}'s class")

    def merge(self) -> None:
        chosen, keep = self.tracks.chosen, self.tracks.selected
        if len(chosen) != 2 or keep is None:
            self.error.emit(f"Select two tracks to merge (Ctrl+click the second); {len(chosen)} selected")
            return
        (other,) = (t for t in chosen if t != keep)
        self._edit(lambda store: store.merge_tracks(keep, other), f"merge track {other} into {keep}")

    def split(self) -> None:
        track_id, frame = self._one("split"), self.source.timeline.cursor
        if track_id is None or frame is None:
            return
        row = self.tracks.row(track_id)
        if not row.first_frame < frame <= row.last_frame:
            self.error.emit(
                f"Track {track_id} cannot be split at frame {frame:,}: it has objects on frames "
                f"{row.first_frame:,}–{row.last_frame:,}; go to a frame after its first and up to its last"
            )
            return
        self._edit(lambda store: store.split_track(track_id, frame), f"split track {track_id} at frame {frame:,}")

    def delete(self, from_cursor: bool = False) -> None:
        track_id = self._one("delete")
        if track_id is None:
            return
        row = self.tracks.row(track_id)
        start = self.source.timeline.cursor if from_cursor else None
        if from_cursor and start is None:
            return
        if start is not None and start <= row.first_frame:
            start = None  # from its first frame on is the whole track
        if start is None:
            count, where = row.length, f"on frames {row.first_frame:,}–{row.last_frame:,}"
            text = f"Delete track {track_id} ({row.class_name}): its {_objects(count)} {where}?"
        else:
            store = self._store()
            if store is None:
                return
            count = sum(o.frame_index >= start for o in store.track_objects(track_id))
            if not count:
                self.error.emit(f"Track {track_id} has no object on frame {start:,} or later: nothing to delete")
                return
            text = f"Delete track {track_id} ({row.class_name}) from frame {start:,} on: {_objects(count)}?"
        if self.confirm(f"{text}\nObjects a person drew are deleted too. Undo (Ctrl+Z) brings them back."):
            self._edit(lambda store: store.delete_track(track_id, start), f"delete track {track_id}")

    # ------------------------------------------------------------------ helpers
    def _one(self, what: str) -> int | None:
        chosen = self.tracks.chosen
        if len(chosen) != 1:
            self.error.emit(f"Select one track to {what}; {len(chosen)} selected")
            return None
        return chosen[0]

    def _store(self) -> VideoStore | None:
        project = self.source.project
        store = None if project is None else project.store
        return store if isinstance(store, VideoStore) else None

    def _edit(self, write: Callable[[VideoStore], TrackEdit], what: str) -> None:
        project = self.source.project
        if project is None:
            return
        try:
            edit = project.edit_tracks(write)
        except StaleEditError as exc:
            self.source.refresh()  # show what the store holds now
            self.error.emit(str(exc))
            return
        except (ProjectStoreError, ValueError) as exc:
            self.error.emit(f"Could not {what}: {exc}")
            return
        self.history.push_track_edit(project, edit)
        self.message.emit(f"{edit.text} (Ctrl+Z undoes it)")


def ask_class_dialog(parent: QWidget) -> AskClass:
    """A class chooser over the project's classes (a new name may be typed), the track's own preselected."""

    def ask(current: str, names: Sequence[str]) -> str | None:
        label, ok = QInputDialog.getItem(
            parent, "Change track class", "Class of every object of the track:", list(names), names.index(current), True
        )
        return label if ok else None

    return ask


def confirm_dialog(parent: QWidget) -> Confirm:
    def confirm(text: str) -> bool:
        buttons = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel
        answer = QMessageBox.question(parent, "Delete track", text, buttons, QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Yes

    return confirm
