"""The rules every format module shares: names written in files kept inside their folder, counted summary lines."""

from __future__ import annotations

import pytest

from protolabel.segmentation.formats._common import clean_relative, counted_notes, tally


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("a.jpg", "a.jpg"),
        ("sub\\b.png", "sub/b.png"),
        ("./x/../c.png", "c.png"),
        ("../secret.png", None),
        ("a/../../b.png", None),
        ("/etc/passwd", None),
        ("C:\\photos\\a.jpg", None),
        ("", None),
        ("..", None),
        ("a\0.png", None),
    ],
)
def test_a_written_name_stays_inside_its_folder(written, expected):
    assert clean_relative(written) == expected


def test_counted_notes_say_one_thing_in_the_singular_and_skip_zero():
    counts: dict[str, int] = {}
    tally(counts, "masks")
    tally(counts, "crowd", 0)
    tally(counts, "verified", 2)
    tally(counts, "verified", 1_000)
    notes = {"masks": ("object", " written as <mask>"), "crowd": ("region", " x"), "verified": ("object", " y")}
    assert counted_notes(counts, notes) == ["1 object written as <mask>", "1,002 objects y"]
