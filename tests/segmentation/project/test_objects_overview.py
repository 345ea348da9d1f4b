"""objects_overview: what an import plan needs to know of every stored image (how many objects, any
not auto, any damaged) without reading every object, and the plan built on it."""

from __future__ import annotations

import json
import sqlite3

import pytest

from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.project import importing
from protolabel.segmentation.project.importing import DAMAGED, WORKED_ON, import_coco, plan_import
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus
from protolabel.segmentation.project.store import DamagedProjectError, DamagedRowError, ProjectStore, project_db_path

NAMES = ["img1.png", "img2.png", "img10.png", "sub/a.jpg"]


def _fill(folder, square) -> None:
    with ProjectStore.open(folder) as store:
        store.replace_auto_objects(
            "img1.png",
            [AnnotatedObject("cat", square(1, 1), score=0.7), AnnotatedObject("dog", square(9, 9), score=0.6)],
        )
        store.replace_auto_objects("img2.png", [AnnotatedObject("cat", square(3, 3), score=0.9)])
        store.write_change(
            "img10.png",
            saved=[AnnotatedObject("cat", square(2, 2), Provenance.EDITED)],
            status=ImageStatus.AUTO_LABELED,
        )  # a person's object under an auto status


def _coco(path):
    path.write_text(
        json.dumps(
            {
                "images": [{"id": i + 1, "file_name": n, "width": 64, "height": 48} for i, n in enumerate(NAMES)],
                "categories": [{"id": 1, "name": "cup"}],
                "annotations": [
                    {
                        "id": i + 1,
                        "image_id": i + 1,
                        "category_id": 1,
                        "source": "auto",
                        "segmentation": [[1, 1, 9, 1, 9, 9]],
                    }
                    for i in range(len(NAMES))
                ],
            }
        )
    )
    return path


def _by_reading(store) -> dict:
    """The oracle: every image's objects read one by one."""
    out = {}
    for name in NAMES:
        try:
            objects = store.objects(name)
        except DamagedRowError:
            out[name] = "damaged"
            continue
        out[name] = (len(objects), any(o.provenance is not Provenance.AUTO for o in objects))
    return out


def test_the_overview_agrees_with_reading_every_image(image_folder, square):
    _fill(image_folder, square)
    with ProjectStore.open(image_folder) as store:
        overview = store.objects_overview()
        assert {n: (overview.of(n).count, overview.of(n).not_auto) for n in NAMES} == _by_reading(store)
        assert not overview.damaged


@pytest.mark.parametrize(
    "column, value",
    [
        ("shape", "not json"),
        ("shape", "[[[1, 1, NaN, 2, 5, 5]]]"),
        ("shape", b"[[[1, 1, 9, 1, 9, 9]]]"),
        ("provenance", "robot"),
        ("label", ""),
        ("label", " \t"),
        ("label", b"cat"),
        ("score", "high"),
        ("score", float("inf")),
        ("version", 1.5),
        ("attributes", "not json"),
        ("attributes", "[true]"),
        ("attributes", b"{}"),
    ],
)
def test_a_damaged_row_marks_its_image_only_and_the_import_leaves_it(image_folder, square, tmp_path, column, value):
    _fill(image_folder, square)
    with sqlite3.connect(project_db_path(image_folder)) as db:
        db.execute(
            f"UPDATE objects SET {column} = ? WHERE id = (SELECT MIN(id) FROM objects WHERE image_path = ?)",
            (value, "img1.png"),
        )
    with ProjectStore.open(image_folder) as store:
        overview = store.objects_overview()
        assert overview.damaged == {"img1.png"}
        assert _by_reading(store)["img1.png"] == "damaged"
        summary = import_coco(store, _coco(tmp_path / "in.json"))
        assert [o.label for o in store.objects("img2.png")] == ["cup"]
    assert dict(summary.skipped) == {"img1.png": DAMAGED, "img10.png": WORKED_ON}
    assert set(summary.merged) == {"img2.png", "sub/a.jpg"} and summary.replaced_auto == 1


def test_a_damaged_page_falls_back_to_image_by_image(image_folder, square, tmp_path, monkeypatch):
    _fill(image_folder, square)
    coco = _coco(tmp_path / "in.json")
    with ProjectStore.open(image_folder) as store:
        expected = plan_import(store, coco)

        def damaged_page():
            raise DamagedProjectError("database disk image is malformed")

        monkeypatch.setattr(store, "objects_overview", damaged_page)
        fallback = plan_import(store, coco)
    assert fallback.skipped == expected.skipped == (("img10.png", WORKED_ON),)
    assert [i.path for i in fallback.images] == [i.path for i in expected.images]
    assert fallback.replaces == expected.replaces == 3
    assert isinstance(importing._objects_overview(store), importing._ImageByImage)
