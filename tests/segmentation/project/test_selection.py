"""Selection: a set of ids with one event per real change."""

from protolabel.segmentation.project.selection import Selection


def test_selection_events_and_pruning():
    selection = Selection()
    seen = []
    selection.events.changed.connect(seen.append)
    selection.set([3])
    selection.set([3])
    assert selection.single == 3 and seen == [frozenset({3})]
    selection.set([3, 4])
    assert selection.single is None
    selection.discard_missing([4, 5])
    assert selection.ids == {4}
    selection.clear()
    assert seen[-1] == frozenset()
