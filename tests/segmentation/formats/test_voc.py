"""Pascal VOC: round trips through our writer and reader, files Datumaro wrote, Datumaro reading ours, hostile input."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from protolabel.segmentation.coco.dataset import Category, CocoDataset, CocoImage
from protolabel.segmentation.formats.base import FormatError
from protolabel.segmentation.formats.voc import FORMAT, voc_palette
from protolabel.segmentation.geometry.instances import Instances
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
    square,
)


def test_round_trip_keeps_objects_classes_pixels_and_flags(tmp_path: Path) -> None:
    dataset = sample_dataset()
    notes = FORMAT.write(dataset, tmp_path / "voc")
    assert not any("overlap" in n or "covered" in n for n in notes)
    assert "1 object the model made written without saying so (VOC has no field): " in " ".join(notes)
    back = FORMAT.read(tmp_path / "voc", tmp_path / "voc" / "JPEGImages")
    assert back.category_names == ("cat", "dog")
    assert [i.file_name for i in back.images] == ["b.png", "sub/a.jpg"]  # VOC lists items by id
    assert back.import_notes == ()
    before, after = dataset.images[0].instances, back.images[1].instances
    assert after.labels == before.labels
    for shape_before, shape_after in zip(before.shapes, after.shapes):
        assert np.array_equal(coco_mask(shape_after, HEIGHT, WIDTH), coco_mask(shape_before, HEIGHT, WIDTH))
    assert after.shapes[0].has_holes and len(after.shapes[1].polygons) == 2  # kept, not filled or split
    assert after.attributes[0]["attributes"]["occluded"] is True
    assert after.attributes[0]["attributes"]["color"] == "red"  # Datumaro's <attributes> extension
    assert len(back.images[0].instances) == 0


def test_written_pngs_are_voc_palette_indices(tmp_path: Path) -> None:
    FORMAT.write(sample_dataset(), tmp_path)
    with Image.open(tmp_path / "SegmentationObject" / "sub" / "a.png") as objects:
        assert objects.mode == "P"
        assert objects.getpalette()[: 3 * 3] == [0, 0, 0, 128, 0, 0, 0, 128, 0]
        ids = np.asarray(objects)
    with Image.open(tmp_path / "SegmentationClass" / "sub" / "a.png") as classes:
        class_ids = np.asarray(classes)
    assert set(np.unique(ids).tolist()) == {0, 1, 2, 3}
    assert set(np.unique(class_ids[ids == 3]).tolist()) == {2}  # the triangle is a dog: class index 2
    assert (tmp_path / "labelmap.txt").read_text().splitlines()[1:] == [
        "background:0,0,0::",
        "cat:128,0,0::",
        "dog:0,128,0::",
    ]
    assert "sub/a" in (tmp_path / "ImageSets" / "Segmentation" / "default.txt").read_text().split()


def test_overlap_goes_to_the_later_object_and_is_counted(tmp_path: Path) -> None:
    shapes = [
        Shape((Polygon(square(2, 2, 10)),)),
        Shape((Polygon(square(7, 7, 2)),)),
        Shape((Polygon(square(6, 6, 10)),)),
    ]
    objects = Instances((HEIGHT, WIDTH), class_names=("cat",), shapes=shapes, classes=[0, 0, 0])
    dataset = CocoDataset((Category(1, "cat"),), [CocoImage("a.jpg", WIDTH, HEIGHT, objects)])
    notes = FORMAT.write(dataset, tmp_path)
    assert any(n.startswith("1 object overlapping a later object") for n in notes)
    assert any(n.startswith("1 object covered entirely") for n in notes)
    back = FORMAT.read(tmp_path, tmp_path).images[0].instances
    assert len(back) == 3
    first = coco_mask(shapes[0], HEIGHT, WIDTH) & ~coco_mask(shapes[2], HEIGHT, WIDTH)
    assert np.array_equal(coco_mask(back.shapes[0], HEIGHT, WIDTH), first)
    assert np.array_equal(coco_mask(back.shapes[1], HEIGHT, WIDTH), coco_mask(shapes[2], HEIGHT, WIDTH))
    # the covered object comes back last, as its box (VOC's <bndbox>, 1-based inclusive): the pixels it had
    assert np.array_equal(coco_mask(back.shapes[2], HEIGHT, WIDTH), coco_mask(shapes[1], HEIGHT, WIDTH))


def test_void_pixels_belong_to_no_object(tmp_path: Path) -> None:
    FORMAT.write(sample_dataset(), tmp_path)
    path = tmp_path / "SegmentationObject" / "sub" / "a.png"
    with Image.open(path) as image:
        ids = np.asarray(image).copy()
        palette = image.getpalette()
    ids[2:4, :] = 255  # VOC's void border, across the top of the holed object
    spoiled = Image.frombytes("P", (WIDTH, HEIGHT), ids.tobytes())
    spoiled.putpalette(palette)
    spoiled.save(path)
    objects = FORMAT.read(tmp_path, tmp_path).images[1].instances
    before = coco_mask(sample_dataset().images[0].instances.shapes[0], HEIGHT, WIDTH)
    after = coco_mask(objects.shapes[0], HEIGHT, WIDTH)
    assert len(objects) == 3  # void is no object of its own either
    assert before[2:4].any() and not after[2:4].any()
    assert np.array_equal(after[4:], before[4:])


def test_reads_datumaro_export_of_a_coco_dataset() -> None:
    dataset = FORMAT.read(FORMATS / "voc_datumaro", FORMATS / "voc_cvat_source" / "images")
    assert dataset.category_names == ("cat", "dog")
    assert dataset.import_notes == ()
    expected = source_masks()
    for image in dataset.images:
        sources = expected[image.file_name]
        objects = image.instances
        assert sorted(objects.labels) == sorted(name for name, _ in sources)
        masks = [coco_mask(s, image.height, image.width) for s in objects.shapes]
        assert np.array_equal(np.any(masks, axis=0), np.any([m for _, m in sources], axis=0))
        for name, mask in zip(objects.labels, masks):  # each object is one source object (less what overlaps it)
            assert any(n == name and (mask <= source).all() and mask.sum() * 2 > source.sum() for n, source in sources)
    img2 = next(i for i in dataset.images if i.file_name == "img2.png").instances
    holed = [s for s in img2.shapes if s.has_holes]
    assert len(holed) == 1 and img2.labels[list(img2.shapes).index(holed[0])] == "cat"
    occluded = [
        a["attributes"]["color"]
        for img in dataset.images
        for a in img.instances.attributes
        if a["attributes"]["occluded"]
    ]
    assert occluded == ["blue"]


def test_datumaro_reads_our_export(tmp_path: Path) -> None:
    python = datumaro_python()
    if python is None:
        pytest.skip("Datumaro is not installed here (set PROTOLABEL_DATUMARO_PYTHON to a Python that has it)")
    dataset = sample_dataset()
    FORMAT.write(dataset, tmp_path)
    read = datumaro_read(python, tmp_path, "voc")
    masks = [a for a in read["sub/a"] if a["type"] == "mask"]
    objects = dataset.images[0].instances
    assert [a["label"] for a in masks] == objects.labels
    for entry, shape in zip(masks, objects.shapes):
        assert entry["pixels"] == np.flatnonzero(coco_mask(shape, HEIGHT, WIDTH)).tolist()
    assert [a["label"] for a in read["sub/a"] if a["type"] == "bbox"] == objects.labels
    assert read["b"] == []


def test_looks_like(tmp_path: Path) -> None:
    FORMAT.write(sample_dataset(), tmp_path / "voc")
    assert FORMAT.looks_like(tmp_path / "voc")
    assert FORMAT.looks_like(FORMATS / "voc_datumaro")
    assert not FORMAT.looks_like(FORMATS / "cvat_datumaro")
    assert not FORMAT.looks_like(tmp_path / "voc" / "labelmap.txt")


# ------------------------------------------------------------------------------------------------------ hostile


@pytest.fixture
def voc(tmp_path: Path) -> Path:
    """A copy of Datumaro's VOC fixture to spoil."""
    return Path(shutil.copytree(FORMATS / "voc_datumaro", tmp_path / "voc"))


def _error(voc: Path) -> str:
    with pytest.raises(FormatError) as caught:
        FORMAT.read(voc, voc)
    return str(caught.value)


def test_broken_xml_is_named(voc: Path) -> None:
    (voc / "Annotations" / "img1.xml").write_text("<annotation><object><name>cat</object></annotation>")
    message = _error(voc)
    assert "Annotations/img1.xml: not well-formed XML: mismatched tag at line 1" in message


def test_xml_entities_are_refused_not_expanded(voc: Path) -> None:
    bomb = '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8)
    )
    (voc / "Annotations" / "img1.xml").write_text(bomb + "]><annotation><filename>&i;</filename></annotation>")
    assert "Annotations/img1.xml: declares XML entities" in _error(voc)
    external = '<!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]><annotation><filename>&e;</filename></annotation>'
    (voc / "Annotations" / "img1.xml").write_text(external)
    assert "Annotations/img1.xml: declares XML entities" in _error(voc)


@pytest.mark.parametrize("name", ["../../etc/passwd.jpg", "/etc/passwd.jpg", "C:\\Windows\\a.jpg"])
def test_image_name_outside_the_folder_is_named(voc: Path, name: str) -> None:
    path = voc / "Annotations" / "img1.xml"
    path.write_text(path.read_text().replace("<filename>img1.png</filename>", f"<filename>{name}</filename>"))
    assert f"Annotations/img1.xml <filename>: {name!r} points outside the images folder" in _error(voc)


def test_item_id_outside_the_folder_is_named(voc: Path) -> None:
    (voc / "ImageSets" / "Segmentation" / "default.txt").write_text("img1\n../../secret\n")
    assert "ImageSets/Segmentation/default.txt line 2: id '../../secret' points outside the folder" in _error(voc)


@pytest.mark.parametrize(
    ("box", "expected"),
    [
        (
            "<xmin>1</xmin><ymin>1</ymin><xmax>500</xmax><ymax>9</ymax>",
            "<object>[0] <bndbox>: lies more than one image size outside the 48x40 image",
        ),
        (
            "<xmin>a</xmin><ymin>1</ymin><xmax>5</xmax><ymax>9</ymax>",
            "xmin, ymin, xmax and ymax must be finite numbers",
        ),
        ("<xmin>9</xmin><ymin>1</ymin><xmax>5</xmax><ymax>9</ymax>", "max below min"),
    ],
)
def test_bad_boxes_are_named(voc: Path, box: str, expected: str) -> None:
    path = voc / "Annotations" / "img1.xml"
    text = path.read_text()
    start, end = text.index("<bndbox>") + len("<bndbox>"), text.index("</bndbox>")
    path.write_text(text[:start] + box + text[end:])
    assert expected in _error(voc)
    assert "Annotations/img1.xml" in _error(voc)


def test_a_link_leading_outside_the_dataset_is_not_followed(voc: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.xml"
    secret.write_text("<annotation><filename>img1.png</filename></annotation>")
    (voc / "Annotations" / "img1.xml").unlink()
    (voc / "Annotations" / "img1.xml").symlink_to(secret)
    message = "Annotations/img1.xml: cannot be read (a link that leads outside the folder, which is not followed)"
    assert message in _error(voc)


def test_png_of_the_wrong_size_is_named(voc: Path) -> None:
    Image.new("P", (10, 10)).save(voc / "SegmentationObject" / "img2.png")
    assert "SegmentationObject/img2.png: is 10x10 but the image is 48x40" in _error(voc)


def test_index_without_object_or_class_is_named(voc: Path) -> None:
    (voc / "SegmentationClass" / "img1.png").unlink()
    ids = np.zeros((40, 48), np.uint8)
    ids[1:3, 1:3] = 7
    image = Image.frombytes("P", (48, 40), ids.tobytes())
    image.putpalette(voc_palette().ravel().tolist())
    image.save(voc / "SegmentationObject" / "img1.png")
    message = _error(voc)
    assert "SegmentationObject/img1.png: index 7 has no <object> in Annotations/img1.xml" in message


def test_colours_outside_the_palette_are_named(voc: Path) -> None:
    Image.new("RGB", (48, 40), (1, 2, 3)).save(voc / "SegmentationClass" / "img3.png")
    assert "SegmentationClass/img3.png: colours ['#010203'] are not in VOC's palette" in _error(voc)


def test_writer_refuses_names_that_leave_the_folder(tmp_path: Path) -> None:
    objects = Instances.empty((4, 4), ("cat",))
    dataset = CocoDataset((Category(1, "cat"),), [CocoImage("../x.jpg", 4, 4, objects)])
    with pytest.raises(FormatError, match="points outside the folder"):
        FORMAT.write(dataset, tmp_path / "out")
    assert not (tmp_path / "x.xml").exists() and not (tmp_path / "Annotations").exists()


def test_written_indices_and_boxes_are_the_shapes_painted_in_order(tmp_path: Path, monkeypatch) -> None:
    """Many images of odd sizes, rasterised a few images at a time: each PNG is every object's own mask
    (shape_to_mask) painted in order, the later on top, and each <bndbox> the extent of its own mask."""
    import re

    from protolabel.segmentation.formats import voc
    from protolabel.segmentation.geometry.rasterise import shape_to_mask

    monkeypatch.setattr(voc, "CHUNK_PIXELS", 700)  # a group ends inside the image list, several times
    rng = np.random.default_rng(3)
    images = []
    for n in range(12):
        height, width = (int(v) for v in rng.integers(6, 40, size=2))
        shapes = [Shape(())]  # no polygon: numbered by no index
        for _ in range(int(rng.integers(0, 6))):
            centre, size = rng.uniform(-3, [width, height]), rng.uniform(0.2, 15)
            ring = np.round(square(0, 0, 1) * size + centre, 1)
            holes = (centre + 0.25 * size + square(0, 0, 1) * 0.5 * size,) if rng.random() < 0.3 else ()
            shapes.append(Shape((Polygon(ring, holes),)))
        classes = rng.integers(0, 2, len(shapes))
        objects = Instances((height, width), class_names=("cat", "dog"), shapes=shapes, classes=classes)
        images.append(CocoImage(f"i{n}.jpg", width, height, objects))
    FORMAT.write(CocoDataset((Category(1, "cat"), Category(2, "dog")), images), tmp_path)
    for n, image in enumerate(images):
        height, width = image.height, image.width
        expected, expected_class = np.zeros((height, width), np.uint8), np.zeros((height, width), np.uint8)
        kept = [(s, int(c)) for s, c in zip(image.instances.shapes, image.instances.classes) if s.polygons]
        for k, (shape, class_index) in enumerate(kept, 1):
            mask = shape_to_mask(shape, height, width)
            expected[mask], expected_class[mask] = k, class_index + 1
        with Image.open(tmp_path / "SegmentationObject" / f"i{n}.png") as ids:
            assert np.array_equal(np.asarray(ids), expected), n
        with Image.open(tmp_path / "SegmentationClass" / f"i{n}.png") as class_ids:
            assert np.array_equal(np.asarray(class_ids), expected_class), n
        xml = (tmp_path / "Annotations" / f"i{n}.xml").read_text()
        boxes = re.findall(r"<xmin>(\d+)</xmin>\s*<ymin>(\d+)</ymin>\s*<xmax>(\d+)</xmax>\s*<ymax>(\d+)</ymax>", xml)
        assert len(boxes) == len(kept)
        for box, (shape, _) in zip(boxes, kept):
            rows, cols = np.nonzero(shape_to_mask(shape, height, width))
            if rows.size:
                assert [int(v) for v in box] == [cols.min() + 1, rows.min() + 1, cols.max() + 1, rows.max() + 1]


def test_read_objects_are_the_exact_pixels_and_majority_class_of_each_index(tmp_path: Path) -> None:
    """Hand-made index PNGs (speckled objects, diagonal contacts, holes, runs from one column's foot to the next
    one's head, void): each object read rasterises back to its index's pixels exactly, with the class most of
    its pixels have (the lowest of a tie)."""
    from collections import Counter

    from protolabel.segmentation.geometry.rasterise import shape_to_mask

    rng = np.random.default_rng(24)
    palette = voc_palette().ravel().tolist()
    (tmp_path / "labelmap.txt").write_text("background:0,0,0::\nred:128,0,0::\ngreen:0,128,0::\nblue:128,128,0::\n")
    expected = {}
    for n in range(8):
        height, width = (int(v) for v in rng.integers(3, 12, size=2))
        ids = rng.choice(np.array([0, 1, 2, 3, 255], np.uint8), size=(height, width), p=[0.3, 0.3, 0.2, 0.1, 0.1])
        ids[:, 0] = 1  # a run from one column's foot to the next one's head
        classes = np.where((ids > 0) & (ids < 255), rng.integers(0, 4, size=ids.shape), 0).astype(np.uint8)
        for folder, pixels in (("SegmentationObject", ids), ("SegmentationClass", classes)):
            image = Image.frombytes("P", (width, height), pixels.tobytes())
            image.putpalette(palette)
            (tmp_path / folder).mkdir(exist_ok=True)
            image.save(tmp_path / folder / f"m{n}.png")
        expected[f"m{n}.jpg"] = ids, classes
    back = FORMAT.read(tmp_path, tmp_path / "JPEGImages")
    names = ("background", *back.category_names)
    seen = 0
    for image in back.images:
        ids, classes = expected[image.file_name]
        present = [k for k in range(1, 255) if (ids == k).any()]
        inst = image.instances
        assert len(inst) == len(present)
        for k, shape, class_index in zip(present, inst.shapes, inst.classes):
            assert np.array_equal(shape_to_mask(shape, *ids.shape), ids == k), (image.file_name, k)
            votes = Counter(c for c in classes[ids == k].tolist() if c)
            if votes:
                top = max(votes.values())
                assert names[int(class_index) + 1] == names[min(c for c, v in votes.items() if v == top)]
                seen += 1
    assert seen >= 10


def test_png_reader_without_pil_reads_what_pil_reads_or_leaves_it_to_pil(tmp_path: Path) -> None:
    """Our unfiltered palette PNGs are read without PIL, pixel for pixel as PIL reads them; a filtered PNG (as
    PIL and Datumaro save them), another bit depth or a damaged file are left to PIL, which names the damage."""
    import io
    import zlib

    from protolabel.segmentation.formats import voc

    rng = np.random.default_rng(5)
    ids = rng.integers(0, 256, size=(13, 17)).astype(np.uint8)
    ours = voc._palette_png(ids, voc_palette())
    assert np.array_equal(voc._unfiltered_png_indices(ours), ids)
    with Image.open(io.BytesIO(ours)) as image:
        assert np.array_equal(np.asarray(image), ids)
    grey = io.BytesIO()
    Image.fromarray(ids, "L").save(grey, "PNG")  # PIL filters its rows: not ours to read
    assert voc._unfiltered_png_indices(grey.getvalue()) is None
    one_bit = io.BytesIO()
    Image.fromarray(ids > 127).save(one_bit, "PNG")
    assert voc._unfiltered_png_indices(one_bit.getvalue()) is None
    idat = ours.index(b"IDAT")
    damaged = ours[: idat + 10] + bytes([ours[idat + 10] ^ 0xFF]) + ours[idat + 11 :]  # the CRC no longer fits
    assert voc._unfiltered_png_indices(damaged) is None
    assert voc._unfiltered_png_indices(ours[:-20]) is None  # cut short
    rows = np.zeros((13, 18), np.uint8)
    rows[:, 1:] = ids
    body = zlib.compress(rows.tobytes()[:-5])  # a row short of what the header promises
    short = ours[: idat - 4] + voc._png_chunk(b"IDAT", body) + voc._png_chunk(b"IEND", b"")
    assert voc._unfiltered_png_indices(short) is None
    # through the reader: the damaged mask is named by PIL's message, as before
    FORMAT.write(sample_dataset(), tmp_path)
    path = tmp_path / "SegmentationObject" / "sub" / "a.png"
    data = path.read_bytes()
    at = data.index(b"IDAT")
    path.write_bytes(data[: at + 10] + bytes([data[at + 10] ^ 0xFF]) + data[at + 11 :])
    with pytest.raises(FormatError, match=r"SegmentationObject/sub/a.png: cannot decode the PNG \("):
        FORMAT.read(tmp_path, tmp_path)


def test_repeated_xml_fields_read_the_first_in_document_order(tmp_path: Path) -> None:
    """As ElementTree's findtext reads them: a field given twice counts once, the first; a <bndbox> field missing
    from the first <bndbox> is taken from the next one."""
    (tmp_path / "Annotations").mkdir()
    (tmp_path / "Annotations" / "e.xml").write_text(
        "<annotation><size><width>50</width><height>140</height></size><object><name>cat</name><name>dog</name>"
        "<difficult>1.0</difficult><difficult>0</difficult><truncated></truncated><occluded>x</occluded>"
        "<pose>Left</pose><bndbox><ymin>3</ymin><xmax>9</xmax></bndbox>"
        "<bndbox><xmin>2</xmin><ymin>99</ymin><ymax>100</ymax><xmin>0</xmin></bndbox></object></annotation>"
    )
    (image,) = FORMAT.read(tmp_path, tmp_path).images
    assert image.instances.labels == ["cat"]
    assert image.instances.attributes[0] == {"attributes": {"difficult": True, "pose": "Left"}}
    assert image.instances.shapes[0].polygons[0].exterior.tolist() == [[1, 2], [9, 2], [9, 100], [1, 100]]


def test_object_without_pixels_is_counted_not_written(tmp_path: Path) -> None:
    """A shape smaller than a pixel has no index and no pixel box: it used to be written as an <object> whose
    <bndbox> ended before it began, which made the export unreadable (also by this reader)."""
    speck = Shape((Polygon(np.array([[3.1, 3.1], [3.3, 3.1], [3.2, 3.3]])),))
    shapes = [Shape((Polygon(square(2, 2, 6)),)), speck, Shape((Polygon(square(10, 4, 5)),))]
    objects = Instances((HEIGHT, WIDTH), class_names=("cat", "dog"), shapes=shapes, classes=[0, 0, 1])
    dataset = CocoDataset((Category(1, "cat"), Category(2, "dog")), [CocoImage("a.jpg", WIDTH, HEIGHT, objects)])
    notes = FORMAT.write(dataset, tmp_path)
    assert "1 object with no pixel (smaller than a pixel or outside the image): not written" in notes
    back = FORMAT.read(tmp_path, tmp_path).images[0].instances
    assert back.labels == ["cat", "dog"]
    for written, read in zip((shapes[0], shapes[2]), back.shapes):
        assert np.array_equal(coco_mask(read, HEIGHT, WIDTH), coco_mask(written, HEIGHT, WIDTH))
    with Image.open(tmp_path / "SegmentationObject" / "a.png") as ids:
        assert set(np.unique(np.asarray(ids)).tolist()) == {0, 1, 2}
