"""Attributes and image tags through a project: imported from CVAT (a file Datumaro wrote, and one with tags and
declared attribute types), kept in the store, written to COCO, CVAT and labelme, and read back the same."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from protolabel.segmentation.coco.reader import read_coco
from protolabel.segmentation.formats.registry import by_name
from protolabel.segmentation.project.attributes import ATTRIBUTE_SCHEMA_KEY, parse_attribute_schema
from protolabel.segmentation.project.export import export_project
from protolabel.segmentation.project.importing import apply_import, plan_import
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus
from protolabel.segmentation.project.store import ProjectStore

DATUMARO_CVAT = Path(__file__).parents[2] / "fixtures" / "formats" / "cvat_datumaro"

CVAT_WITH_TAGS = """<annotations><version>1.1</version><meta><task><labels>
<label><name>cat</name><attributes>
  <attribute><name>fat</name><input_type>checkbox</input_type><default_value>false</default_value>
    <values>false</values></attribute>
  <attribute><name>age</name><input_type>number</input_type><default_value>1</default_value>
    <values>0\n20\n1</values></attribute>
  <attribute><name>pose</name><input_type>select</input_type><default_value>front</default_value>
    <values>front\nside</values></attribute>
</attributes></label>
<label><name>night</name><type>tag</type></label>
<label><name>blurry</name><type>tag</type></label>
</labels></task></meta>
<image id="0" name="a.png" width="32" height="24">
  <tag label="night" source="manual"/>
  <tag label="blurry" source="manual"/>
  <box label="cat" occluded="1" xtl="2" ytl="2" xbr="12" ybr="10">
    <attribute name="fat">true</attribute><attribute name="age">7</attribute><attribute name="pose">side</attribute>
  </box>
  <polygon label="cat" occluded="0" points="14,4;28,4;28,20;14,20">
    <attribute name="fat">false</attribute><attribute name="age">2.5</attribute><attribute name="pose">front</attribute>
  </polygon>
</image>
<image id="1" name="b.png" width="32" height="24"><tag label="night" source="manual"/></image>
</annotations>"""


def _imported(store: ProjectStore, path: Path, fmt: str) -> None:
    apply_import(store, plan_import(store, path, fmt=by_name(fmt)))


def _carried(store: ProjectStore) -> dict[str, tuple[list[tuple[str, dict | None]], tuple[str, ...]]]:
    """Per image: its objects' (class, attributes) and its tags."""
    return {
        name: ([(o.label, o.attributes) for o in store.objects(name)], store.tags(name))
        for name in sorted({*store.statuses(), *store.tags_by_image()})
    }


@pytest.fixture
def tagged_project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    for name in ("a.png", "b.png"):
        cv2.imwrite(str(folder / name), np.zeros((24, 32, 3), np.uint8))
    source = tmp_path / "annotations.xml"
    source.write_text(CVAT_WITH_TAGS)
    with ProjectStore.open(folder) as store:
        _imported(store, source, "cvat")
    return folder


def test_a_cvat_import_keeps_attributes_tags_and_adds_them_to_the_schema(tagged_project: Path) -> None:
    with ProjectStore.open(tagged_project) as store:
        assert _carried(store) == {
            "a.png": (
                [
                    ("cat", {"occluded": True, "fat": True, "age": 7, "pose": "side"}),
                    ("cat", {"occluded": False, "fat": False, "age": 2.5, "pose": "front"}),
                ],
                ("blurry", "night"),
            ),
            "b.png": ([], ("night",)),
        }
        schema = parse_attribute_schema(store.setting(ATTRIBUTE_SCHEMA_KEY))
        assert [(s.name, s.kind.value) for s in schema] == [
            ("occluded", "checkbox"),
            ("fat", "checkbox"),
            ("age", "number"),
            ("pose", "text"),
        ]


@pytest.mark.parametrize("fmt, out", [("coco", "out.json"), ("cvat", "cvat")])
def test_an_export_read_into_a_fresh_project_gives_the_same_attributes_and_tags(
    tagged_project: Path, tmp_path: Path, fmt: str, out: str
) -> None:
    with ProjectStore.open(tagged_project) as store:
        export_project(store, by_name(fmt), tmp_path / out)
        expected = _carried(store)
    copy = tmp_path / "copy"
    shutil.copytree(tagged_project, copy, ignore=shutil.ignore_patterns(".protolabel"))
    source = tmp_path / out / "annotations.xml" if fmt == "cvat" else tmp_path / out
    with ProjectStore.open(copy) as store:
        _imported(store, source, fmt)
        assert _carried(store) == expected


def test_the_coco_export_writes_attributes_as_cvat_does_and_tags_on_the_image(
    tagged_project: Path, tmp_path: Path
) -> None:
    with ProjectStore.open(tagged_project) as store:
        export_project(store, by_name("coco"), tmp_path / "out.json")
    data = json.loads((tmp_path / "out.json").read_text())
    assert [a["attributes"] for a in data["annotations"]] == [
        {"age": 7, "fat": True, "occluded": True, "pose": "side"},
        {"age": 2.5, "fat": False, "occluded": False, "pose": "front"},
    ]
    assert {i["file_name"]: i.get("tags") for i in data["images"]} == {"a.png": ["blurry", "night"], "b.png": ["night"]}
    assert read_coco(tmp_path / "out.json").images[0].extra["tags"] == ["blurry", "night"]


def test_tags_go_to_labelme_as_flags_and_come_back(tagged_project: Path, tmp_path: Path) -> None:
    with ProjectStore.open(tagged_project) as store:
        export_project(store, by_name("labelme"), tmp_path / "lm")
        expected_tags = store.tags_by_image()
    flags = {p.name: json.loads(p.read_text())["flags"] for p in sorted((tmp_path / "lm").glob("*.json"))}
    assert flags == {"a.json": {"blurry": True, "night": True}, "b.json": {"blurry": False, "night": True}}
    copy = tmp_path / "copy"
    shutil.copytree(tagged_project, copy, ignore=shutil.ignore_patterns(".protolabel"))
    for path in (tmp_path / "lm").glob("*.json"):  # beside its image, as labelme keeps them
        data = json.loads(path.read_text())
        data["imagePath"] = Path(data["imagePath"]).name
        (copy / path.name).write_text(json.dumps(data))
    with ProjectStore.open(copy) as store:
        _imported(store, copy, "labelme")
        assert store.tags_by_image() == expected_tags


def test_a_file_datumaro_wrote_keeps_its_attributes_through_the_project(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    shutil.copytree(DATUMARO_CVAT / "images", folder)
    with ProjectStore.open(folder) as store:
        _imported(store, DATUMARO_CVAT / "default.xml", "cvat")
        (img1,) = [o.attributes for o in store.objects("img2.png") if o.label == "cat"]
        assert img1 == {"color": "green", "is_crowd": False, "occluded": False}
        export_project(store, by_name("cvat"), tmp_path / "cvat")
        expected = _carried(store)
    back = by_name("cvat").read(tmp_path / "cvat" / "annotations.xml", folder)
    read = {
        image.file_name: sorted(
            (back.category_names[c], json.dumps(a["attributes"], sort_keys=True))
            for c, a in zip(image.instances.classes.tolist(), image.instances.attributes.tolist())
        )
        for image in back.images
    }
    assert read == {
        name: sorted((label, json.dumps(attrs, sort_keys=True)) for label, attrs in objects)
        for name, (objects, _) in expected.items()
    }


def test_an_import_never_touches_the_attributes_or_tags_of_an_image_a_person_worked_on(
    tagged_project: Path, tmp_path: Path, square
) -> None:
    with ProjectStore.open(tagged_project) as store:
        store.write_change(
            "a.png",
            saved=[AnnotatedObject("cat", square(1, 1), attributes={"fat": False})],
            status=ImageStatus.EDITED,
        )
        store.set_tags("a.png", ["mine"])
        before = _carried(store)["a.png"]
        source = tmp_path / "again.xml"
        source.write_text(CVAT_WITH_TAGS)
        _imported(store, source, "cvat")
        assert _carried(store)["a.png"] == before


def test_attribute_values_the_store_cannot_hold_are_counted_not_silently_lost(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), np.zeros((24, 32, 3), np.uint8))
    coco = {
        "images": [{"id": 1, "file_name": "a.png", "width": 32, "height": 24}],
        "categories": [{"id": 1, "name": "cat"}],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "bbox": [1, 1, 5, 5],
                "segmentation": [[1, 1, 6, 1, 6, 6, 1, 6]],
                "attributes": {"parts": [1, 2], "ok": True, "gone": None},
            }
        ],
    }
    (tmp_path / "in.json").write_text(json.dumps(coco))
    with ProjectStore.open(folder) as store:
        plan = plan_import(store, tmp_path / "in.json")
        assert "Left out 2 attribute values that are not true/false, a number or text." in plan.preview().lines()
        summary = apply_import(store, plan)
        assert "Left out 2 attribute values that are not true/false, a number or text." in summary.lines()
        assert [o.attributes for o in store.objects("a.png")] == [{"ok": True}]


def test_checkbox_attributes_go_to_labelme_shape_flags_and_come_back(tagged_project: Path, tmp_path: Path) -> None:
    with ProjectStore.open(tagged_project) as store:
        summary = export_project(store, by_name("labelme"), tmp_path / "lm")
    data = json.loads((tmp_path / "lm" / "a.json").read_text())
    assert [s["flags"] for s in data["shapes"]] == [{"occluded": True, "fat": True}, {"occluded": False, "fat": False}]
    assert "4 attribute values not true/false left out: labelme's shape flags are checkboxes" in summary.notes
    copy = tmp_path / "copy"
    shutil.copytree(tagged_project, copy, ignore=shutil.ignore_patterns(".protolabel"))
    for path in (tmp_path / "lm").glob("*.json"):
        record = json.loads(path.read_text())
        record["imagePath"] = Path(record["imagePath"]).name
        (copy / path.name).write_text(json.dumps(record))
    with ProjectStore.open(copy) as store:
        _imported(store, copy, "labelme")
        assert [o.attributes for o in store.objects("a.png")] == [
            {"occluded": True, "fat": True},
            {"occluded": False, "fat": False},
        ]
