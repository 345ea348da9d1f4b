"""The Tracks dock's model: checked rows, sorting, and a selection that follows the listed tracks."""

from __future__ import annotations

import pytest

from protolabel.segmentation.project.track_list import COLUMNS, TrackList, TrackRow, sort_rows

ROWS = (
    TrackRow(3, "dog", 10, 40, 31, 31),
    TrackRow(1, "person", 0, 99, 90, 45),
    TrackRow(7, "Cat", 50, 59, 10, 0),
    TrackRow(2, "person", 5, 5, 1, 1),
)


def _ids(rows) -> list[int]:
    return [r.track_id for r in rows]


def test_reviewed_share():
    assert [r.reviewed_share for r in ROWS] == [1.0, 0.5, 0.0, 1.0]


@pytest.mark.parametrize(
    ("column", "ascending", "descending"),
    [
        ("Track", [1, 2, 3, 7], [7, 3, 2, 1]),
        ("Class", [7, 3, 1, 2], [1, 2, 3, 7]),  # case-blind; the two "person" rows stay in id order
        ("First", [1, 2, 3, 7], [7, 3, 2, 1]),
        ("Last", [2, 3, 7, 1], [1, 7, 3, 2]),
        ("Length", [2, 7, 3, 1], [1, 3, 7, 2]),
        ("Reviewed", [7, 1, 2, 3], [2, 3, 1, 7]),  # ties (1.0) by id in both directions
    ],
)
def test_sorting_by_each_column(column, ascending, descending):
    index = [title for title, _ in COLUMNS].index(column)
    assert _ids(sort_rows(ROWS, index)) == ascending
    assert _ids(sort_rows(ROWS, index, descending=True)) == descending


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((4, "dog", 10, 9, 1, 0), r"frames 10..9 are not a span"),
        ((4, "dog", -1, 3, 1, 0), r"frames -1..3 are not a span"),
        ((4, "dog", 0, 3, 5, 0), r"5 frames with an object do not fit its span 0..3 \(4 frames\)"),
        ((4, "dog", 0, 3, 0, 0), r"0 frames with an object"),
        ((4, "dog", 0, 3, 2, 3), r"3 frames reviewed, but it has an object on 2"),
        ((4, "dog", 0, 3, 2, -1), r"-1 frames reviewed"),
    ],
)
def test_rows_that_cannot_be_are_refused(args, message):
    with pytest.raises(ValueError, match=message):
        TrackRow(*args)


def test_selection_events_and_a_selection_whose_track_goes_away():
    tracks = TrackList(ROWS)
    selected, changed = [], []
    tracks.events.selection_changed.connect(selected.append)
    tracks.events.rows_changed.connect(lambda: changed.append(len(tracks.rows)))
    tracks.select(7)
    tracks.select(7)
    assert tracks.selected == 7 and selected == [7]
    with pytest.raises(KeyError, match="track 99 is not in this video's list"):
        tracks.select(99)
    assert tracks.selected == 7
    tracks.set_rows(ROWS)  # the same rows: nothing to tell
    assert changed == []
    tracks.set_rows(ROWS[:2])  # track 7 is gone (merged, deleted)
    assert changed == [2] and tracks.selected is None and selected == [7, None]
    tracks.select(3)
    tracks.set_rows([TrackRow(3, "cat", 10, 40, 31, 31)])  # re-classed: still listed, still selected
    assert tracks.selected == 3 and tracks.row(3).class_name == "cat"


def test_a_list_with_one_id_twice_is_refused_whole():
    tracks = TrackList(ROWS)
    with pytest.raises(ValueError, match="track 3 is listed twice"):
        tracks.set_rows([*ROWS, TrackRow(3, "dog", 0, 0, 1, 0)])
    assert tracks.rows == ROWS


def test_an_empty_list():
    tracks = TrackList()
    assert tracks.rows == () and tracks.selected is None
    tracks.select(None)
    assert sort_rows((), 0) == []


def test_several_tracks_chosen_with_one_selected_and_those_that_go_away():
    tracks = TrackList(ROWS)
    selected, chosen = [], []
    tracks.events.selection_changed.connect(selected.append)
    tracks.events.chosen_changed.connect(chosen.append)
    tracks.choose([7, 1, 3], 3)
    assert tracks.chosen == (1, 3, 7) and tracks.selected == 3
    assert selected == [3] and chosen == [(1, 3, 7)]
    with pytest.raises(ValueError, match="track 2 is not one of the chosen tracks"):
        tracks.choose([1, 3], 2)
    with pytest.raises(KeyError, match="track 99 is not in this video's list"):
        tracks.choose([1, 99], 1)
    assert tracks.chosen == (1, 3, 7)  # a refused choice changes nothing
    tracks.set_rows(ROWS[1:3])  # 3 merged into another: 1 and 7 stay chosen, 1 is now the selected one
    assert tracks.chosen == (1, 7) and tracks.selected == 1 and selected == [3, 1]
    tracks.select(7)  # one track alone
    assert tracks.chosen == (7,) and chosen[-1] == (7,)
    tracks.set_rows(ROWS[1:2])
    assert tracks.chosen == () and tracks.selected is None
