"""An object of a track selected on the canvas selects its track in the Tracks list, so the timeline draws that
track's bar and keyframe markers as a click in the Tracks dock does.

Kept apart from the Tracks dock's own controller: it only reads the canvas selection and calls the public
`TrackList.select`; deselecting the object leaves the track selected (its bar stays while one looks along it).
"""

from __future__ import annotations

from collections.abc import Callable

from protolabel.segmentation.project.project import Project
from protolabel.segmentation.project.selection import Selection
from protolabel.segmentation.project.track_list import TrackList


def selected_track(project: Project | None, selection: Selection) -> int | None:
    """The track of the one object selected on the frame shown (None: no object, several, or one of no track)."""
    document, selected = (None if project is None else project.current), selection.single
    if document is None or selected is None or selected not in document:
        return None
    return document.get(selected).track_id


def follow_selected_object(project: Callable[[], Project | None], selection: Selection, tracks: TrackList) -> None:
    """Select, in `tracks`, the track of each object selected on the canvas (when the list shows that track)."""

    def on_selection(_ids: object) -> None:
        track = selected_track(project(), selection)
        if track is not None and track != tracks.selected and any(r.track_id == track for r in tracks.rows):
            tracks.select(track)

    selection.events.changed.connect(on_selection)
