"""labelme files in and out: shape kinds, group_id parts, flags, and hostile files each named with nothing lost."""

from __future__ import annotations

import json

import numpy as np
import pytest

from protolabel.segmentation.formats import labelme
from protolabel.segmentation.formats.base import FormatError
from protolabel.segmentation.geometry.rasterise import shape_to_mask
from tests.segmentation.formats.conftest import write_images


def _shape(label, points, kind="polygon", group=None, **extra):
    return {"label": label, "points": points, "group_id": group, "shape_type": kind, "flags": {}, **extra}


def _file(folder, name, shapes, image="a.png", **extra):
    record = {"version": "5.5.0", "flags": {}, "shapes": shapes, "imagePath": image, "imageData": None}
    record.update(imageHeight=48, imageWidth=64)
    record.update(extra)
    (folder / name).write_text(json.dumps(record))
    return folder / name


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "photos"
    root.mkdir()
    write_images(root)
    return root


def test_shape_kinds_groups_and_flags(folder):
    shapes = [
        _shape("cup", [[4, 4], [20, 4], [20, 20], [4, 20]]),
        _shape("box", [[30, 30], [22, 40]], "rectangle"),
        _shape("ball", [[40, 10], [45, 10]], "circle"),
        _shape("plate", [[2, 30], [10, 30], [10, 44]], group=7),
        _shape("plate", [[50, 30], [60, 30], [60, 44]], group=7),
        _shape("edge", [[0, 0], [5, 5]], "line"),
    ]
    _file(folder, "a.json", shapes, flags={"blurry": True})
    data = labelme.read(folder / "a.json", folder)
    (image,) = data.images
    assert image.file_name == "a.png" and image.extra == {"flags": {"blurry": True}}
    inst = image.instances
    assert inst.labels == ["cup", "box", "ball", "plate"]
    assert [len(s.polygons) for s in inst.shapes] == [1, 1, 1, 2]  # the group's two parts are one object
    box = shape_to_mask(inst.shapes[1], 48, 64)
    assert box[35, 25] and not box[35, 35] and box.sum() == 8 * 10
    assert len(inst.shapes[2].polygons[0].exterior) == labelme.CIRCLE_VERTICES
    assert set(inst.provenance.tolist()) == {"edited"}
    assert any("1 line or point shape left out" in n for n in data.import_notes)
    assert any("1 circle became polygons" in n for n in data.import_notes)


def test_hostile_files_are_named_and_the_others_read(folder, monkeypatch):
    good = [_shape("cup", [[4, 4], [20, 4], [20, 20]])]
    _file(folder, "good.json", good)
    _file(folder, "outside.json", good, image="../../etc/passwd.png")
    _file(folder, "absolute.json", good, image="/etc/shadow.png", imageWidth=64)
    (folder / "broken.json").write_text('{"shapes": [')
    _file(folder, "odd.json", [_shape("cup", [[4, 4], [20, 4]])], image="sub/b.jpg")
    _file(folder, "far.json", [_shape("cup", [[4, 4], [1e9, 4], [20, 20]])], image="c.png")
    big = _file(folder, "big.json", good, image="c.png", imageData="A" * 5000)
    monkeypatch.setattr(labelme, "MAX_LABELME_BYTES", big.stat().st_size - 1)
    data = labelme.read(folder, folder)
    assert [img.file_name for img in data.images] == ["a.png"]
    notes = "\n".join(data.import_notes)
    assert f"imagePath '../../etc/passwd.png' lies outside {folder}" in notes
    assert "imagePath '/etc/shadow.png' lies outside" in notes
    assert "broken.json" in notes and "not valid JSON" in notes
    assert "odd.json" in notes and "shape 0: a polygon needs at least 3 distinct points" in notes
    assert "far.json" in notes and "more than one image size outside" in notes
    assert "big.json" in notes and "embedded imageData is not read" in notes


def test_a_huge_file_is_refused_before_it_is_parsed(folder, monkeypatch):
    path = _file(folder, "big.json", [], imageData="A" * 10_000)
    monkeypatch.setattr(labelme, "MAX_LABELME_BYTES", 1000)
    monkeypatch.setattr(labelme.orjson, "loads", lambda raw: pytest.fail("parsed a file over the limit"))
    data = labelme.read(path, folder)
    assert data.images == [] and "larger than" in data.import_notes[0]


def test_a_folder_without_labelme_files_is_an_error(tmp_path):
    with pytest.raises(FormatError, match="no labelme .json files"):
        labelme.read(tmp_path, tmp_path)


def test_written_files_point_at_the_images_and_count_the_holes(project, tmp_path):
    from protolabel.segmentation.formats.registry import by_name
    from protolabel.segmentation.project.export import export_project
    from protolabel.segmentation.project.store import ProjectStore

    with ProjectStore.open(project) as store:
        summary = export_project(store, by_name("labelme"), tmp_path / "out")
    record = json.loads((tmp_path / "out" / "sub" / "b.json").read_text())
    assert record["imageData"] is None and record["imagePath"] == "../../photos/sub/b.jpg"
    assert (tmp_path / "out" / "sub" / record["imagePath"]).resolve() == (project / "sub" / "b.jpg").resolve()
    assert [s["group_id"] for s in record["shapes"]] == [1, 1]  # two parts of one object
    assert summary.notes == ("1 object with holes written filled: labelme polygons cannot cut holes",)
    a = json.loads((tmp_path / "out" / "a.json").read_text())
    assert np.array(a["shapes"][0]["points"]).shape == (4, 2)


def test_a_link_leading_outside_the_folder_is_not_read(folder, tmp_path):
    outside = tmp_path / "secret.json"
    _file(tmp_path, "secret.json", [_shape("cup", [[4, 4], [20, 4], [20, 20]])])
    (folder / "linked.json").symlink_to(outside)
    _file(folder, "good.json", [_shape("cup", [[4, 4], [20, 4], [20, 20]])], image="c.png")
    data = labelme.read(folder, folder)
    assert [img.file_name for img in data.images] == ["c.png"]
    assert data.import_notes == (f"Skipped 1 labelme file, a link that leads outside the folder: {folder}/linked.json",)
