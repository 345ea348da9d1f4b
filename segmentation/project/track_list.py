"""The tracks of a video as rows (id, class, first/last frame, length, reviewed share) and which one is selected.

Qt-free state with change events (psygnal) for the Tracks dock: the wiring fills it from the store, the
dock shows it and selects through it, and whoever else shows a track (the timeline, the canvas) follows
`selection_changed`. Sorting lives here too, so the order a person sees does not depend on Qt.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from psygnal import Signal, SignalGroup


@dataclass(frozen=True)
class TrackRow:
    """One track as listed: frames are 0-based video frame indices, counts are numbers of frames."""

    track_id: int
    class_name: str
    first_frame: int  # the first frame where the track has an object
    last_frame: int  # the last such frame (inclusive)
    length: int  # frames where the track has an object (fewer than the span when it is hidden for a while)
    reviewed: int  # of those, frames a person reviewed or edited

    def __post_init__(self) -> None:
        span = self.last_frame - self.first_frame + 1
        if self.first_frame < 0 or span < 1:
            raise ValueError(
                f"track {self.track_id}: frames {self.first_frame}..{self.last_frame} are not a span of a video"
            )
        if not 1 <= self.length <= span:
            raise ValueError(
                f"track {self.track_id}: {self.length} frames with an object do not fit "
                f"its span {self.first_frame}..{self.last_frame} ({span} frames)"
            )
        if not 0 <= self.reviewed <= self.length:
            raise ValueError(
                f"track {self.track_id}: {self.reviewed} frames reviewed, but it has an object on {self.length}"
            )

    @property
    def reviewed_share(self) -> float:
        """Reviewed frames over frames with an object, 0..1."""
        return self.reviewed / self.length


# The listed columns: title and the sort key of each (ties go by track id, so the order is stable).
COLUMNS: tuple[tuple[str, Callable[[TrackRow], Any]], ...] = (
    ("Track", lambda r: r.track_id),
    ("Class", lambda r: (r.class_name.casefold(), r.class_name)),
    ("First", lambda r: r.first_frame),
    ("Last", lambda r: r.last_frame),
    ("Length", lambda r: r.length),
    ("Reviewed", lambda r: r.reviewed_share),
)


def sort_rows(rows: Iterable[TrackRow], column: int, descending: bool = False) -> list[TrackRow]:
    """Rows ordered by one column of COLUMNS; equal values keep track-id order in both directions."""
    by_id = sorted(rows, key=lambda r: r.track_id)
    return sorted(by_id, key=COLUMNS[column][1], reverse=descending)  # reverse=True is stable too


class TrackListEvents(SignalGroup):
    rows_changed = Signal()
    selection_changed = Signal(object)  # the selected track id, None when none is
    chosen_changed = Signal(object)  # the ids of every selected track (a merge takes two), in id order


class TrackList:
    """The listed tracks, the selected one (whose frames the timeline draws) and the chosen ones (the selected
    one and the others selected with it, for a merge); set_rows drops a selection whose track is gone."""

    def __init__(self, rows: Iterable[TrackRow] = ()) -> None:
        self.events = TrackListEvents()
        self._rows: tuple[TrackRow, ...] = ()
        self._by_id: dict[int, TrackRow] = {}
        self._selected: int | None = None
        self._chosen: tuple[int, ...] = ()
        self.set_rows(rows)

    @property
    def rows(self) -> tuple[TrackRow, ...]:
        return self._rows

    @property
    def selected(self) -> int | None:
        return self._selected

    @property
    def chosen(self) -> tuple[int, ...]:
        """Every selected track, in id order (the selected one among them)."""
        return self._chosen

    def row(self, track_id: int) -> TrackRow:
        return self._by_id[track_id]

    def set_rows(self, rows: Iterable[TrackRow]) -> None:
        """Replace the listed tracks; two rows with one id is a ValueError and changes nothing."""
        rows = tuple(rows)
        by_id: dict[int, TrackRow] = {}
        for row in rows:
            if row.track_id in by_id:
                raise ValueError(f"track {row.track_id} is listed twice")
            by_id[row.track_id] = row
        if rows != self._rows:
            self._rows, self._by_id = rows, by_id
            self.events.rows_changed.emit()
        if any(t not in by_id for t in self._chosen):
            kept = [t for t in self._chosen if t in by_id]
            self.choose(kept, self._selected if self._selected in by_id else (kept[0] if kept else None))

    def select(self, track_id: int | None) -> None:
        """Select one listed track alone (None: none); an id that is not listed is a KeyError."""
        self.choose(() if track_id is None else (track_id,), track_id)

    def choose(self, track_ids: Iterable[int], selected: int | None) -> None:
        """Select several listed tracks, `selected` the one among them that the timeline draws (None only with
        none chosen); an id that is not listed is a KeyError, and a `selected` not chosen a ValueError."""
        chosen = tuple(sorted(set(track_ids)))
        missing = [t for t in (*chosen, selected) if t is not None and t not in self._by_id]
        if missing:
            raise KeyError(f"track {missing[0]} is not in this video's list")
        if (selected is None) != (not chosen) or (selected is not None and selected not in chosen):
            raise ValueError(f"track {selected} is not one of the chosen tracks {list(chosen)}")
        changed = chosen != self._chosen
        self._chosen = chosen
        if selected != self._selected:
            self._selected = selected
            self.events.selection_changed.emit(selected)
        if changed:
            self.events.chosen_changed.emit(chosen)
