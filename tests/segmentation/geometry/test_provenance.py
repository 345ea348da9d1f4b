"""One provenance vocabulary: the strings projects and COCO files store, the same members in every layer."""

from __future__ import annotations

from protolabel.segmentation import geometry, project
from protolabel.segmentation.coco.reader import parse_coco
from protolabel.segmentation.geometry.provenance import HUMAN_DRAWN, PROVENANCE_OF, PROVENANCES, Provenance
from protolabel.segmentation.geometry.shapes import Shape
from protolabel.segmentation.project.records import AnnotatedObject


def test_the_stored_strings_stay_the_ones_on_disk():
    # projects (objects.provenance) and COCO files ("source") written by earlier versions hold these
    assert PROVENANCES == ("auto", "edited", "verified")
    assert [PROVENANCE_OF[s] for s in PROVENANCES] == [Provenance.AUTO, Provenance.EDITED, Provenance.VERIFIED]
    assert HUMAN_DRAWN == "edited"


def test_every_layer_names_the_one_definition():
    assert project.Provenance is Provenance
    assert geometry.Provenance is Provenance
    assert type(AnnotatedObject("cat", Shape(())).provenance) is Provenance


def test_coco_sources_outside_the_vocabulary_come_in_as_drawn_by_a_person():
    square = [[1, 1, 8, 1, 8, 8, 1, 8]]
    sources = ["auto", "verified", "edited", "robot", None, ["auto"]]
    annotations = [
        {"id": i + 1, "image_id": 1, "category_id": 1, "segmentation": square} | ({} if s is None else {"source": s})
        for i, s in enumerate(sources)
    ]
    data = {
        "images": [{"id": 1, "file_name": "a.png", "width": 10, "height": 10}],
        "categories": [{"id": 1, "name": "cat"}],
        "annotations": annotations,
    }
    (image,) = parse_coco(data).images
    got = image.instances.provenance.tolist()
    assert got == ["auto", "verified", "edited", "edited", "edited", "edited"]
    assert all(type(p) is str for p in got)  # the COCO layer keeps plain strings; the project maps them
    assert [PROVENANCE_OF[p] for p in got][:2] == [Provenance.AUTO, Provenance.VERIFIED]
