"""COCO import into a project: merge rules, one transaction, and the export -> import round trip."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from dataclasses import replace

import numpy as np
import pytest
from pycocotools.coco import COCO

from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.geometry.shapes import Polygon, Shape
from protolabel.segmentation.project.export import export_coco
from protolabel.segmentation.project.importing import (
    NOT_IN_FOLDER,
    OUTSIDE_FOLDER,
    SIZE_DIFFERS,
    UNREADABLE,
    WORKED_ON,
    ImportSummary,
    apply_import,
    import_coco,
    plan_import,
)
from protolabel.segmentation.project.labels import LABELS_KEY
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus
from protolabel.segmentation.project.store import ProjectStore, ProjectStoreError


def _poly(x, y, s=10):
    return [[x, y, x + s, y, x + s, y + s, x, y + s]]


def _write(path, images, annotations, categories):
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    return path


def _masks(coco_file):
    """{file_name: sorted list of (category name, source, mask bytes)} read by pycocotools."""
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(coco_file))
    names = {c["id"]: c["name"] for c in coco.loadCats(coco.getCatIds())}
    out = {}
    for image in coco.loadImgs(coco.getImgIds()):
        anns = coco.loadAnns(coco.getAnnIds(imgIds=image["id"]))
        out[image["file_name"]] = sorted(
            (names[a["category_id"]], a.get("source"), coco.annToMask(a).tobytes()) for a in anns
        )
    return out


def test_round_trip_export_then_import_into_a_fresh_copy(image_folder, square, tmp_path):
    donut = Shape(
        (
            Polygon(
                np.array([[2, 2], [30, 2], [30, 30], [2, 30]], float),
                (np.array([[10, 10], [20, 10], [20, 20], [10, 20]], float),),
            ),
        )
    )
    with ProjectStore.open(image_folder) as store:
        store.set_setting(LABELS_KEY, ["cat", "ring", "dog"])
        store.replace_auto_objects(
            "img1.png",
            [AnnotatedObject("cat", square(1, 1), score=0.75), AnnotatedObject("dog", square(20, 5, 15), score=0.5)],
            image_size=(48, 64),
        )
        store.write_change(
            "img2.png", saved=[AnnotatedObject("ring", donut, Provenance.VERIFIED)], status=ImageStatus.VERIFIED
        )
        store.write_change(
            "sub/a.jpg",
            saved=[
                AnnotatedObject("cat", square(3, 4, 20), Provenance.EDITED),
                AnnotatedObject("dog", square(30, 20), Provenance.AUTO, 0.25),
            ],
            status=ImageStatus.EDITED,
        )
        before = {n: store.objects(n) for n in ("img1.png", "img2.png", "sub/a.jpg")}
        exported = export_coco(store, tmp_path / "a.json")
    copy = tmp_path / "copy"
    shutil.copytree(image_folder, copy, ignore=shutil.ignore_patterns(".protolabel"))

    with ProjectStore.open(copy) as store:
        summary = import_coco(store, exported.path)
        after = {n: store.objects(n) for n in before}
        statuses = store.statuses()
        labels = store.setting(LABELS_KEY)
        export_coco(store, tmp_path / "b.json")  # the round trip read back below

    assert sorted(summary.merged) == sorted(before) and summary.objects == 5 and not summary.skipped
    assert statuses == {
        "img1.png": ImageStatus.AUTO_LABELED,
        "img2.png": ImageStatus.VERIFIED,
        "sub/a.jpg": ImageStatus.EDITED,
    }
    assert set(labels) == {"cat", "ring", "dog"}
    for name, objects in before.items():
        got = sorted(after[name], key=lambda o: (o.label, o.provenance.value))
        want = sorted(objects, key=lambda o: (o.label, o.provenance.value))
        assert [(o.label, o.provenance) for o in got] == [(o.label, o.provenance) for o in want]
        for g, w in zip(got, want):
            assert (g.score is None) == (w.score is None)
            if w.score is not None:
                assert g.score == pytest.approx(w.score, abs=1e-6)
    first, second = _masks(tmp_path / "a.json"), _masks(tmp_path / "b.json")
    assert first == second and sum(len(v) for v in first.values()) == 5


def test_merge_rules_and_summary(image_folder, square, tmp_path):
    (image_folder / "empty.png").write_bytes(b"")
    with ProjectStore.open(image_folder) as store:
        store.set_setting(LABELS_KEY, ["person"])
        store.replace_auto_objects(
            "img10.png", [AnnotatedObject("person", square(0, 0), score=0.4)], image_size=(48, 64)
        )
        store.write_change(
            "sub/a.jpg", saved=[AnnotatedObject("person", square(5, 5), Provenance.EDITED)], status=ImageStatus.EDITED
        )
    inside = str(image_folder / "img2.png")
    images = [
        {"id": 1, "file_name": "img1.png", "width": 64, "height": 48},
        {"id": 2, "file_name": inside, "width": 64, "height": 48},
        {"id": 3, "file_name": "missing.png", "width": 64, "height": 48},
        {"id": 4, "file_name": str(tmp_path / "elsewhere.png"), "width": 64, "height": 48},
        {"id": 5, "file_name": "../photos/img1.png", "width": 64, "height": 48},
        {"id": 6, "file_name": "img10.png", "width": 64, "height": 48},
        {"id": 7, "file_name": "sub/a.jpg", "width": 64, "height": 48},
        {"id": 8, "file_name": "empty.png", "width": 64, "height": 48},
        {"id": 9, "file_name": "C:\\data\\img1.png", "width": 64, "height": 48},
    ]
    (tmp_path / "elsewhere.png").write_bytes(b"not read")
    anns = [
        {"id": 1, "image_id": 1, "category_id": 7, "segmentation": _poly(1, 1), "iscrowd": 0},
        {
            "id": 2,
            "image_id": 1,
            "category_id": 3,
            "segmentation": _poly(20, 20),
            "iscrowd": 0,
            "source": "auto",
            "score": 0.8,
        },
        {
            "id": 3,
            "image_id": 1,
            "category_id": 3,
            "iscrowd": 1,
            "segmentation": {"size": [48, 64], "counts": [100, 50, 48 * 64 - 150]},
        },
        {"id": 4, "image_id": 2, "category_id": 7, "segmentation": _poly(2, 2), "iscrowd": 0, "source": "verified"},
        {
            "id": 5,
            "image_id": 6,
            "category_id": 7,
            "segmentation": _poly(3, 3),
            "iscrowd": 0,
            "source": "auto",
            "score": 0.9,
        },
        {"id": 6, "image_id": 7, "category_id": 7, "segmentation": _poly(4, 4), "iscrowd": 0},
    ]
    coco = _write(tmp_path / "in.json", images, anns, [{"id": 7, "name": "person"}, {"id": 3, "name": "bike"}])

    with ProjectStore.open(image_folder) as store:
        plan = plan_import(store, coco)
        assert store.objects("img1.png") == []  # planning writes nothing
        preview = plan.preview()
        assert "Will merge 3 images with 4 objects, replacing their 1 auto object." in preview.lines(planned=True)
        summary = apply_import(store, plan)
        img1 = store.objects("img1.png")
        img2 = store.objects("img2.png")
        img10 = store.objects("img10.png")
        a = store.objects("sub/a.jpg")
        labels = store.setting(LABELS_KEY)
        statuses = store.statuses()

    reasons = {name: reason for name, reason in summary.skipped}
    assert reasons["missing.png"] == NOT_IN_FOLDER
    assert reasons[str(tmp_path / "elsewhere.png")] == OUTSIDE_FOLDER
    assert reasons["../photos/img1.png"] == OUTSIDE_FOLDER
    assert reasons["C:\\data\\img1.png"] == OUTSIDE_FOLDER  # a Windows path, read here
    assert reasons["sub/a.jpg"] == WORKED_ON
    assert reasons["empty.png"].startswith(UNREADABLE)
    assert set(summary.merged) == {"img1.png", "img2.png", "img10.png"} and summary.crowd_skipped == 1
    assert summary.replaced_auto == 1 and summary.new_labels == ("bike",) and labels == ["person", "bike"]
    assert sorted((o.label, o.provenance, o.score) for o in img1) == [
        ("bike", Provenance.AUTO, pytest.approx(0.8)),
        ("person", Provenance.EDITED, None),
    ]
    assert [(o.label, o.provenance) for o in img2] == [("person", Provenance.VERIFIED)]
    assert [o.score for o in img10] == [pytest.approx(0.9)]  # the old auto object was replaced
    assert [(o.label, o.provenance, o.shape) for o in a] == [("person", Provenance.EDITED, square(5, 5))]
    assert statuses["img1.png"] == ImageStatus.EDITED and statuses["img2.png"] == ImageStatus.VERIFIED
    text = "\n".join(summary.lines())
    assert "Merged 3 images with 4 objects" in text and "1 crowd region" in text and "missing.png" in text


def test_size_mismatch_is_skipped(image_folder, tmp_path):
    coco = _write(
        tmp_path / "in.json",
        [{"id": 1, "file_name": "img1.png", "width": 640, "height": 480}],
        [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": _poly(1, 1)}],
        [{"id": 1, "name": "cat"}],
    )
    with ProjectStore.open(image_folder) as store:
        summary = import_coco(store, coco)
        assert store.objects("img1.png") == [] and not summary.merged
    ((name, reason),) = summary.skipped
    assert name == "img1.png" and reason.startswith(SIZE_DIFFERS) and "64x48" in reason


def test_image_edited_after_planning_is_left_alone(image_folder, square, tmp_path):
    coco = _write(
        tmp_path / "in.json",
        [{"id": 1, "file_name": "img1.png", "width": 64, "height": 48}],
        [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": _poly(1, 1), "source": "auto"}],
        [{"id": 1, "name": "cat"}],
    )
    with ProjectStore.open(image_folder) as store:
        plan = plan_import(store, coco)
        with ProjectStore.open(image_folder) as other:  # another window edits the image meanwhile
            other.write_change("img1.png", saved=[AnnotatedObject("dog", square(9, 9))], status=ImageStatus.EDITED)
        summary = apply_import(store, plan)
        assert [o.label for o in store.objects("img1.png")] == ["dog"]
    assert summary.merged == () and summary.skipped == (("img1.png", WORKED_ON),)


def test_import_is_all_or_nothing(image_folder, square, tmp_path):
    coco = _write(
        tmp_path / "in.json",
        [
            {"id": 1, "file_name": "img1.png", "width": 64, "height": 48},
            {"id": 2, "file_name": "img2.png", "width": 64, "height": 48},
        ],
        [
            {"id": 1, "image_id": 1, "category_id": 1, "segmentation": _poly(1, 1)},
            {"id": 2, "image_id": 2, "category_id": 1, "segmentation": _poly(1, 1)},
        ],
        [{"id": 1, "name": "cat"}],
    )
    with ProjectStore.open(image_folder) as store:
        plan = plan_import(store, coco)
        first, second = plan.images
        broken = replace(plan, images=(first, replace(second, objects=("not an object",))))
        with pytest.raises((AttributeError, ProjectStoreError)):
            apply_import(store, broken)
        assert store.objects("img1.png") == [] and store.statuses() == {} and store.setting(LABELS_KEY) is None


def test_an_edited_image_with_only_auto_objects_left_is_not_planned(image_folder, square, tmp_path):
    """A person deleted objects (status edited) and left only auto ones: still a person's work."""
    coco = _write(
        tmp_path / "in.json",
        [{"id": 1, "file_name": "img1.png", "width": 64, "height": 48}],
        [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": _poly(1, 1), "source": "auto"}],
        [{"id": 1, "name": "cat"}],
    )
    with ProjectStore.open(image_folder) as store:
        store.write_change(
            "img1.png", saved=[AnnotatedObject("dog", square(9, 9), Provenance.AUTO, 0.5)], status=ImageStatus.EDITED
        )
        plan = plan_import(store, coco)
        summary = apply_import(store, plan)
        assert [o.label for o in store.objects("img1.png")] == ["dog"]
    assert plan.images == () and plan.skipped == (("img1.png", WORKED_ON),)
    assert summary.merged == ()


def test_an_image_with_damaged_stored_rows_is_skipped_with_the_reason(image_folder, square, tmp_path):
    import sqlite3

    from protolabel.segmentation.project.importing import DAMAGED
    from protolabel.segmentation.project.store import project_db_path

    coco = _write(
        tmp_path / "in.json",
        [
            {"id": 1, "file_name": "img1.png", "width": 64, "height": 48},
            {"id": 2, "file_name": "img2.png", "width": 64, "height": 48},
        ],
        [
            {"id": 1, "image_id": 1, "category_id": 1, "segmentation": _poly(1, 1), "source": "auto"},
            {"id": 2, "image_id": 2, "category_id": 1, "segmentation": _poly(1, 1), "source": "auto"},
        ],
        [{"id": 1, "name": "cat"}],
    )
    with ProjectStore.open(image_folder) as store:
        store.replace_auto_objects("img1.png", [AnnotatedObject("dog", square(9, 9), score=0.5)])
    with sqlite3.connect(project_db_path(image_folder)) as db:
        db.execute("UPDATE objects SET shape = 'not json' WHERE image_path = 'img1.png'")
    with ProjectStore.open(image_folder) as store:
        summary = import_coco(store, coco)
        assert [o.label for o in store.objects("img2.png")] == ["cat"]
    assert summary.merged == ("img2.png",) and summary.skipped == (("img1.png", DAMAGED),)


def test_a_round_trip_keeps_the_class_order_ids_and_number_keys(image_folder, square, tmp_path):
    """Issue 20 (W2): classes came back in the order their first objects were met, not the file's."""
    with ProjectStore.open(image_folder) as store:
        store.set_setting(LABELS_KEY, ["ring", "dog", "cat"])  # not the order the objects are met in
        store.write_change(
            "img1.png",
            saved=[AnnotatedObject("cat", square(1, 1), Provenance.EDITED), AnnotatedObject("dog", square(20, 5))],
            status=ImageStatus.EDITED,
        )
        store.write_change(
            "img2.png", saved=[AnnotatedObject("ring", square(3, 3), Provenance.VERIFIED)], status=ImageStatus.VERIFIED
        )
        exported = export_coco(store, tmp_path / "a.json", labels=("ring", "dog", "cat"))
    copy = tmp_path / "copy"
    shutil.copytree(image_folder, copy, ignore=shutil.ignore_patterns(".protolabel"))
    with ProjectStore.open(copy) as store:
        summary = import_coco(store, exported.path)
        labels = store.setting(LABELS_KEY)
        export_coco(store, tmp_path / "b.json", labels=tuple(labels))
    categories = [json.loads((tmp_path / f).read_text())["categories"] for f in ("a.json", "b.json")]
    assert [c["name"] for c in categories[0]] == ["ring", "dog", "cat"]
    assert labels == ["ring", "dog", "cat"] and summary.new_labels == ("ring", "dog", "cat")
    assert categories[1] == categories[0]  # ids too


def test_new_classes_join_after_the_projects_own_in_the_files_order(image_folder, square, tmp_path):
    coco = _write(
        tmp_path / "in.json",
        [{"id": 1, "file_name": "img1.png", "width": 64, "height": 48}],
        [
            {"id": 1, "image_id": 1, "category_id": 3, "segmentation": _poly(1, 1), "bbox": [1, 1, 10, 10]},
            {"id": 2, "image_id": 1, "category_id": 9, "segmentation": _poly(20, 1), "bbox": [20, 1, 10, 10]},
            {"id": 3, "image_id": 1, "category_id": 5, "segmentation": _poly(1, 20), "bbox": [1, 20, 10, 10]},
        ],
        [
            {"id": 9, "name": "zebra"},
            {"id": 3, "name": "apple"},
            {"id": 4, "name": "unused"},
            {"id": 5, "name": "mango"},
        ],
    )
    with ProjectStore.open(image_folder) as store:
        store.set_setting(LABELS_KEY, ["mango", "pear"])
        plan = plan_import(store, coco)
    assert plan.new_labels == ("zebra", "apple") and plan.labels == ("mango", "pear", "zebra", "apple")
    assert "New classes: zebra, apple." in plan.preview().lines(planned=True)


def test_a_summary_counts_video_frames_as_frames_and_images_as_images():
    frame, other = "clip.mp4#000001", "clip.mp4#000002"
    summary = ImportSummary(
        ("a.png", frame), 2, 0, ((other, "already edited or verified"),), 0, (), frames=frozenset({frame, other})
    )
    assert summary.lines()[:2] == [
        "Merged 1 frame and 1 image with 2 objects.",
        f"Skipped 1 frame, already edited or verified: {other}",
    ]
    only_frames = ImportSummary((), 0, 0, ((frame, "not in the folder"),), 0, (), frames=frozenset({frame}))
    assert only_frames.lines(planned=True)[0] == "Will merge 0 frames with 0 objects."
    assert ImportSummary(("a.png", "b.png"), 1, 0, (), 0, ()).lines()[0] == "Merged 2 images with 1 object."
