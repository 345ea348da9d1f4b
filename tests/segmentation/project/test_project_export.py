"""COCO export of a project: all or verified only, valid for pycocotools, holes kept."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
from pycocotools.coco import COCO

from protolabel.segmentation.coco import validate_coco
from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.geometry.shapes import Polygon, Shape
from protolabel.segmentation.project.export import export_coco
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus
from protolabel.segmentation.project.store import ProjectStore


def test_export_all_and_verified_only(image_folder, square, tmp_path):
    donut = Shape(
        (
            Polygon(
                np.array([[2, 2], [30, 2], [30, 30], [2, 30]], float),
                (np.array([[10, 10], [20, 10], [20, 20], [10, 20]], float),),
            ),
        )
    )
    with ProjectStore.open(image_folder) as store:
        store.replace_auto_objects("img1.png", [AnnotatedObject("cat", square(1, 1), score=0.9)], image_size=(48, 64))
        store.write_change(
            "img2.png", saved=[AnnotatedObject("ring", donut, Provenance.VERIFIED)], status=ImageStatus.VERIFIED
        )  # no recorded size: read from the file
        store.write_change("sub/a.jpg", saved=[], status=ImageStatus.UNLABELED)

        store.set_setting("keep_classes", ["dog"])  # no dog objects: written because it is kept
        everything = export_coco(store, tmp_path / "all.json", labels=("dog",))
        verified = export_coco(store, tmp_path / "verified.json", verified_only=True)

    assert (everything.images, everything.annotations) == (2, 2)
    data = json.loads((tmp_path / "all.json").read_text())
    assert [c["name"] for c in data["categories"]] == ["dog", "cat", "ring"]
    assert {i["file_name"] for i in data["images"]} == {"img1.png", "img2.png"}
    by_source = {a["source"]: a for a in data["annotations"]}
    assert by_source["auto"]["score"] == 0.9 and "score" not in by_source["verified"]
    assert isinstance(by_source["verified"]["segmentation"], dict)  # holes need RLE
    report = validate_coco(tmp_path / "all.json")
    assert report.ok, report.summary()

    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(tmp_path / "verified.json"))
    assert verified.images == 1 and len(coco.getAnnIds()) == 1
    (ann,) = coco.loadAnns(coco.getAnnIds())
    mask = coco.annToMask(ann)
    assert mask.shape == (48, 64) and mask[15, 15] == 0 and mask[5, 5] == 1
