"""CVAT for images 1.1: round trips, CVAT's mask RLE, files Datumaro wrote, Datumaro reading ours, hostile input."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from protolabel.segmentation.coco import Category, CocoDataset, CocoImage
from protolabel.segmentation.formats.base import FormatError
from protolabel.segmentation.formats.cvat import FORMAT
from protolabel.segmentation.geometry.instances import Instances
from protolabel.segmentation.geometry.outlines import mask_to_shape
from protolabel.segmentation.geometry.shapes import Polygon, Shape
from tests.segmentation.formats.xml_format_samples import (
    FORMATS,
    HEIGHT,
    WIDTH,
    coco_mask,
    datumaro_python,
    datumaro_read,
    sample_dataset,
    source_masks,
)

DATUMARO_XML = FORMATS / "cvat_datumaro" / "default.xml"


def test_round_trip_keeps_objects_classes_pixels_attributes_and_tags(tmp_path: Path) -> None:
    dataset = sample_dataset()
    notes = FORMAT.write(dataset, tmp_path)
    assert "2 objects with holes or several parts written as <mask> (a CVAT polygon holds neither)" in notes
    back = FORMAT.read(tmp_path, tmp_path)
    assert back.category_names == ("cat", "dog")  # the tag's label is not a class
    assert [i.file_name for i in back.images] == ["sub/a.jpg", "b.png"]
    assert back.images[0].extra == {"tags": ["night"]}
    before, after = dataset.images[0].instances, back.images[0].instances
    assert after.labels == before.labels
    for shape_before, shape_after in zip(before.shapes, after.shapes):
        assert np.array_equal(coco_mask(shape_after, HEIGHT, WIDTH), coco_mask(shape_before, HEIGHT, WIDTH))
    assert after.shapes[0].has_holes and len(after.shapes[1].polygons) == 2
    assert after.attributes.tolist() == [
        {"attributes": {"occluded": True, "color": "red"}},
        {"attributes": {"occluded": False}},
        {"attributes": {"occluded": False}},
    ]
    assert after.provenance.tolist() == ["edited", "auto", "edited"]
    assert len(back.images[1].instances) == 0


def test_the_export_is_what_elementtree_writes_of_it(tmp_path: Path) -> None:
    """The images are written as text: read back and written again by ElementTree, the bytes are the same
    (escaping, indentation, empty elements)."""
    from dataclasses import replace
    from xml.etree.ElementTree import fromstring, tostring

    from protolabel.segmentation.coco import Category, CocoDataset, CocoImage
    from protolabel.segmentation.geometry.instances import Instances

    dataset = sample_dataset()
    odd = 'a "b" & <c>\nd\te'
    first = dataset.images[0].instances
    values = np.empty(len(first), object)
    values[:] = [{"attributes": {"occluded": True, "color": odd, "blank": "", "n": 3}}, None, None]
    objects = Instances(
        (HEIGHT, WIDTH),
        class_names=(odd, "dog"),
        shapes=first.shapes.tolist(),
        classes=first.classes.tolist(),
        provenance=first.provenance.tolist(),
        attributes=values,
    )
    images = [
        replace(dataset.images[0], file_name=f"sub/{odd}.jpg", instances=objects, extra={"tags": [odd]}),
        *dataset.images[1:],
        CocoImage("none.png", WIDTH, HEIGHT, Instances.empty((HEIGHT, WIDTH), (odd, "dog"))),
    ]
    FORMAT.write(CocoDataset((Category(1, odd), Category(2, "dog")), images), tmp_path)
    written = (tmp_path / "annotations.xml").read_bytes()
    assert tostring(fromstring(written), encoding="utf-8", xml_declaration=True) == written
    assert b'label="a &quot;b&quot; &amp; &lt;c&gt;&#10;d&#09;e"' in written
    assert b'<attribute name="blank" />' in written
    assert b'<image id="2" name="none.png" width="' in written


def _random_objects(seed: int) -> CocoDataset:
    """Images of random sizes with pixel blobs (holes, several parts, pinches), rings and plain polygons."""
    rng = np.random.default_rng(seed)
    images = []
    for k in range(7):
        height, width = (int(v) for v in rng.integers(4, 30, 2))
        shapes = [
            mask_to_shape(rng.random((height, width)) < 0.5, tolerance=0, min_area=0),
            Shape((Polygon(np.array([[0, 0], [width, 0], [width, height], [0, height]], float)),)),
            mask_to_shape(rng.random((height, width)) < 0.3, tolerance=0, min_area=0),
        ]
        objects = Instances((height, width), class_names=("a", "b"), shapes=shapes, classes=[k % 2, 1, 0])
        images.append(CocoImage(f"{k}.png", width, height, objects))
    return CocoDataset((Category(1, "a"), Category(2, "b")), images)


def test_masks_are_each_objects_pixels_over_their_box_across_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many objects of many images rasterised together (3 images at a time here) still land each on its own
    <mask> and read back, in order, as the same pixels."""
    from xml.etree.ElementTree import parse

    from protolabel.segmentation.formats import cvat

    monkeypatch.setattr(cvat, "_CHUNK", 3)
    dataset = _random_objects(5)
    FORMAT.write(dataset, tmp_path)
    written = parse(tmp_path / "annotations.xml").getroot().findall("image")
    back = FORMAT.read(tmp_path, tmp_path)
    masks = 0
    for image, element, read in zip(dataset.images, written, back.images):
        size = (image.height, image.width)
        expected = [coco_mask(s, *size) for s in image.instances.shapes if not s.is_empty()]
        assert len(read.instances) == len(expected)
        for shape, pixels in zip(read.instances.shapes, expected):
            assert np.array_equal(coco_mask(shape, *size), pixels)
        for child, pixels in zip(element, expected):
            if child.tag != "mask":
                continue
            masks += 1
            left, top, width, height = (int(child.get(key, "")) for key in ("left", "top", "width", "height"))
            runs = [int(n) for n in child.get("rle", "").split(",")]
            crop = np.repeat(np.arange(len(runs)) % 2 == 1, runs).reshape(height, width)
            placed = np.zeros(size, bool)
            placed[top : top + height, left : left + width] = crop
            assert np.array_equal(placed, pixels)
            assert crop[0].any() and crop[-1].any() and crop[:, 0].any() and crop[:, -1].any()  # the tight box
    assert masks >= 7


def test_an_object_of_several_parts_without_pixels_is_left_out_with_a_note(tmp_path: Path) -> None:
    """Parts too thin to cover a pixel centre have no mask to write (this raised IndexError)."""
    sliver = np.array([[1, 1], [5, 1], [5, 1.2]], float)
    shapes = [Shape((Polygon(sliver), Polygon(sliver + [0, 2]))), Shape((Polygon(sliver),))]
    objects = Instances((HEIGHT, WIDTH), class_names=("cat",), shapes=shapes, classes=[0, 0])
    dataset = CocoDataset((Category(1, "cat"),), [CocoImage("a.png", WIDTH, HEIGHT, objects)])
    notes = FORMAT.write(dataset, tmp_path)
    assert "1 object with holes or several parts but no pixel inside its image: not written" in notes
    back = FORMAT.read(tmp_path, tmp_path).images[0].instances
    assert len(back) == 1 and np.array_equal(back.shapes[0].polygons[0].exterior, sliver)


def _one_object(tmp_path: Path, element: str, labels: str = "<label><name>cat</name></label>") -> Path:
    path = tmp_path / "annotations.xml"
    path.write_text(
        f"<annotations><version>1.1</version><meta><task><labels>{labels}</labels></task></meta>"
        f'<image id="0" name="a.jpg" width="6" height="5">{element}</image></annotations>'
    )
    return path


def test_mask_rle_is_row_major_runs_starting_with_background(tmp_path: Path) -> None:
    # a 3x2 box at (2, 1): rows "110" and "011" -> runs 0 (no background first), 2 set, 2 clear, 2 set
    path = _one_object(tmp_path, '<mask label="cat" rle="0, 2, 2, 2" left="2" top="1" width="3" height="2"/>')
    shape = FORMAT.read(path, tmp_path).images[0].instances.shapes[0]
    expected = np.zeros((5, 6), bool)
    expected[1, 2:4] = True
    expected[2, 3:5] = True
    assert np.array_equal(coco_mask(shape, 5, 6), expected)


def test_attributes_are_typed_by_their_declaration(tmp_path: Path) -> None:
    labels = (
        "<label><name>cat</name><attributes>"
        "<attribute><name>fat</name><input_type>checkbox</input_type></attribute>"
        "<attribute><name>age</name><input_type>number</input_type></attribute>"
        "<attribute><name>code</name><input_type>text</input_type></attribute>"
        "</attributes></label>"
    )
    element = (
        '<box label="cat" occluded="1" xtl="1" ytl="1" xbr="3" ybr="4"><attribute name="fat">true</attribute>'
        '<attribute name="age">2.5</attribute><attribute name="code">007</attribute></box>'
    )
    objects = FORMAT.read(_one_object(tmp_path, element, labels), tmp_path).images[0].instances
    assert objects.attributes[0] == {"attributes": {"occluded": True, "fat": True, "age": 2.5, "code": "007"}}
    assert objects.shapes[0].bounds() == (1.0, 1.0, 3.0, 4.0)


def test_rotated_box_turns_about_its_centre(tmp_path: Path) -> None:
    element = '<box label="cat" xtl="1" ytl="2" xbr="5" ybr="3" rotation="90"/>'
    shape = FORMAT.read(_one_object(tmp_path, element), tmp_path).images[0].instances.shapes[0]
    assert np.allclose(shape.bounds(), (2.5, 0.5, 3.5, 4.5))


def test_reads_datumaro_export_of_a_coco_dataset() -> None:
    dataset = FORMAT.read(DATUMARO_XML, FORMATS / "cvat_datumaro" / "images")
    assert dataset.category_names == ("cat", "dog")
    assert dataset.import_notes == ("7 objects with a group_id: groups are not kept",)
    expected = source_masks()
    for image in dataset.images:
        objects = image.instances
        masks = [coco_mask(s, image.height, image.width) for s in objects.shapes]
        sources = expected[image.file_name]
        # Datumaro writes a COCO object's polygon list as one CVAT polygon each: their union is the source object
        for name, source in sources:
            parts = [m for label, m in zip(objects.labels, masks) if label == name and (m <= source).all()]
            assert parts and np.array_equal(np.any(parts, axis=0), source)
    img1 = next(i for i in dataset.images if i.file_name == "img1.png").instances
    assert img1.labels == ["dog", "dog", "cat"]
    assert [a["attributes"]["color"] for a in img1.attributes] == ["blue", "blue", "red"]
    assert [a["attributes"]["occluded"] for a in img1.attributes] == [True, True, False]
    img2 = next(i for i in dataset.images if i.file_name == "img2.png").instances
    assert [s.has_holes for s in img2.shapes] == [True, False]


def test_datumaro_reads_our_export(tmp_path: Path) -> None:
    python = datumaro_python()
    if python is None:
        pytest.skip("Datumaro is not installed here (set PROTOLABEL_DATUMARO_PYTHON to a Python that has it)")
    dataset = sample_dataset()
    FORMAT.write(dataset, tmp_path)
    for image in dataset.images:  # Datumaro's CVAT importer wants the image files in images/
        (tmp_path / "images" / image.file_name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "images" / image.file_name).write_bytes(b"")
    read = datumaro_read(python, tmp_path / "annotations.xml", "cvat")
    objects = dataset.images[0].instances
    annotations = read["sub/a"]
    assert [a["label"] for a in annotations if a["type"] != "label"] == objects.labels
    assert [a["label"] for a in annotations if a["type"] == "label"] == ["night"]
    assert [a["type"] for a in annotations] == ["mask", "mask", "polygon", "label"]
    for entry, shape in zip(annotations[:2], objects.shapes[:2]):
        assert entry["pixels"] == np.flatnonzero(coco_mask(shape, HEIGHT, WIDTH)).tolist()
    assert np.allclose(annotations[2]["points"], objects.shapes[2].polygons[0].exterior.ravel())
    assert annotations[0]["attributes"] == {"occluded": True, "color": "red"}


def test_looks_like(tmp_path: Path) -> None:
    FORMAT.write(sample_dataset(), tmp_path)
    assert FORMAT.looks_like(tmp_path) and FORMAT.looks_like(tmp_path / "annotations.xml")
    assert FORMAT.looks_like(DATUMARO_XML)
    assert not FORMAT.looks_like(FORMATS / "voc_datumaro")
    assert not FORMAT.looks_like(FORMATS / "voc_datumaro" / "Annotations" / "img1.xml")


# ------------------------------------------------------------------------------------------------------ hostile


@pytest.fixture
def cvat_xml(tmp_path: Path) -> Path:
    """A copy of Datumaro's CVAT fixture to spoil."""
    shutil.copytree(FORMATS / "cvat_datumaro", tmp_path / "cvat")
    return tmp_path / "cvat" / "default.xml"


def _error(path: Path) -> str:
    with pytest.raises(FormatError) as caught:
        FORMAT.read(path, path.parent)
    return str(caught.value)


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_broken_xml_is_named(cvat_xml: Path) -> None:
    cvat_xml.write_text(cvat_xml.read_text()[:-40])
    assert f"{cvat_xml}: not well-formed XML: no element found at line" in _error(cvat_xml)


def test_xml_entities_are_refused_not_expanded(cvat_xml: Path) -> None:
    laughs = "".join(f'<!ENTITY l{i + 1} "{("&l" + str(i) + ";") * 10}">' for i in range(9))
    bomb = f'<?xml version="1.0"?><!DOCTYPE annotations [<!ENTITY l0 "lol">{laughs}]>'
    cvat_xml.write_text(bomb + "<annotations><version>&l9;</version></annotations>")
    assert f"{cvat_xml}: declares XML entities (line 1)" in _error(cvat_xml)


@pytest.mark.parametrize("name", ["../outside.png", "/etc/passwd", "C:/a.png", ""])
def test_image_name_outside_the_folder_is_named(cvat_xml: Path, name: str) -> None:
    _replace(cvat_xml, 'name="img3.png"', f'name="{name}"')
    assert f"<image>[0] name: {name!r} points outside the images folder" in _error(cvat_xml)


def test_coordinates_far_outside_or_not_numbers_are_named(cvat_xml: Path) -> None:
    _replace(cvat_xml, 'points="16.00,14.00;', 'points="16.00,9000.00;')
    assert "<image>[0] (img3.png) <polygon>[0]: points lie more than one image size outside the 48x40 image" in _error(
        cvat_xml
    )
    _replace(cvat_xml, 'points="16.00,9000.00;', 'points="28.00,nan;')
    assert "<polygon>[0]: points must be at least 3 'x,y' pairs of finite numbers" in _error(cvat_xml)


def test_rle_not_matching_its_box_is_named(cvat_xml: Path) -> None:
    _replace(cvat_xml, 'rle="222, ', 'rle="221, ')
    message = _error(cvat_xml)
    assert "<image>[1] (img2.png) <mask>[0]: rle runs add up to 1919 pixels, the 48x40 box has 1920" in message


def test_rle_run_too_large_for_an_integer_is_named(cvat_xml: Path) -> None:
    """A run past 64 bits raised OverflowError instead of naming the mask."""
    _replace(cvat_xml, 'rle="', 'rle="99999999999999999999999, ')
    assert "<mask>[0]: rle has a run longer than any image, got '99999999999999999999999, " in _error(cvat_xml)


def test_mask_box_outside_the_image_is_named(cvat_xml: Path) -> None:
    _replace(cvat_xml, 'left="0" top="0" width="48"', 'left="1" top="0" width="48"')
    assert "<mask>[0]: the 48x40 mask at (1, 0) is not inside the 48x40 image" in _error(cvat_xml)


def test_rle_that_is_not_numbers_is_named(cvat_xml: Path) -> None:
    _replace(cvat_xml, 'rle="222, ', 'rle="-5, ')
    assert "<mask>[0]: rle must be comma-separated non-negative integers, got '-5, 12," in _error(cvat_xml)


def test_repeated_image_ids_are_named(cvat_xml: Path) -> None:
    _replace(cvat_xml, '<image id="1" name="img2.png"', '<image id="0" name="img2.png"')
    assert "<image>[1] (img2.png): id 0 is also <image> 'img3.png'" in _error(cvat_xml)


def test_video_tracks_are_refused_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "annotations.xml"
    path.write_text('<annotations><version>1.1</version><track id="0" label="cat"/></annotations>')
    assert "<track> elements are CVAT for video; export the task as CVAT for images 1.1" in _error(path)
