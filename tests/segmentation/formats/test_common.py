"""The rules every format module shares: names written in files kept inside their folder, counted summary lines,
images placed beside an export only when their file is there."""

from __future__ import annotations

import pytest

from protolabel.segmentation.formats._common import clean_relative, counted_notes, tally
from protolabel.segmentation.formats.registry import by_name
from protolabel.segmentation.project.export import project_dataset, with_image_files
from protolabel.segmentation.project.store import ProjectStore


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


@pytest.mark.parametrize(("name", "placed", "annotation"), [("yolo", "images", "labels/a.txt"),
                                                            ("voc", "JPEGImages", "Annotations/a.xml")])  # fmt: skip
def test_an_image_file_gone_before_the_export_is_counted_not_placed(project, tmp_path, name, placed, annotation):
    with ProjectStore.open(project) as store:
        dataset = with_image_files(project_dataset(store)[0], project)
    (project / "a.png").unlink()  # gone between the listing and the writing
    out = tmp_path / "out"
    notes = by_name(name).write(dataset, out)
    assert (out / annotation).is_file()  # its objects are written all the same
    assert not (out / placed / "a.png").exists() and (out / placed / "sub" / "b.jpg").is_file()
    assert [n for n in notes if "not placed" in n][0].startswith("1 image not placed")
