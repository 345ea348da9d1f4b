"""The rules every format module shares: names written in files kept inside their folder, counted summary lines,
images placed beside an export only when their file is there."""

from __future__ import annotations

import pytest

from protolabel.segmentation.formats._common import InsideCheck, NamesInside, clean_relative, counted_notes, tally
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


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("photos/a.jpg", "a.jpg"),
        ("photos/sub//b.png", "sub/b.png"),
        ("photos/x/../c.png", "c.png"),
        ("photos", None),
        ("photos/..", None),
        ("photos2/a.jpg", None),  # a sibling whose name starts with the folder's
        ("elsewhere/a.jpg", None),
    ],
)
def test_names_inside_a_folder_are_relative_to_it_and_nothing_outside_is(tmp_path, path, expected):
    names = NamesInside(tmp_path / "photos")
    assert names(tmp_path / path) == expected
    assert names(str(tmp_path / path)) == expected  # a folder's path is normalised once, for every name asked


def test_names_inside_the_top_folder_have_no_leading_separator(tmp_path):
    assert NamesInside(tmp_path.anchor)(tmp_path / "a.jpg") == (tmp_path / "a.jpg").as_posix().lstrip("/")


def test_a_link_planted_in_a_folder_already_checked_is_still_refused(tmp_path):
    root, outside = tmp_path / "data", tmp_path / "outside.txt"
    (root / "labels").mkdir(parents=True)
    (root / "labels" / "a.txt").write_text("0 0 0 1 0 1 1\n")
    outside.write_text("secret")
    inside = InsideCheck(root)
    assert inside("labels/a.txt")  # the folder is resolved and remembered here
    (root / "labels" / "b.txt").symlink_to(outside)
    (root / "labels" / "c.txt").symlink_to(root / "labels" / "a.txt")
    assert not inside("labels/b.txt")
    assert inside("labels/c.txt")  # a link whose target lies inside is followed


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
