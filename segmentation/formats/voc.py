"""Pascal VOC segmentation, read and written: Annotations/*.xml, SegmentationObject/ and SegmentationClass/ PNGs.

Layout (as the VOC devkit, Datumaro and CVAT have it), under one root folder:
- `Annotations/ID.xml`: `<filename>`, `<size>`, and per object `<name>`, `<bndbox>` (1-based, inclusive pixel
  indices), `<difficult>`, `<truncated>`, `<occluded>`, `<pose>`, and any other attribute as Datumaro writes them
  (`<attributes><attribute><name/><value/>`);
- `SegmentationObject/ID.png`: per pixel the object's index (k is the k-th `<object>` of the XML), 0 background,
  255 void (VOC's unlabelled border);
- `SegmentationClass/ID.png`: per pixel the class index into the label list, 0 background, 255 void;
- `labelmap.txt` (Datumaro's `name:r,g,b:parts:actions`, background first) or, without one, VOC's 21 classes;
- `ImageSets/Segmentation/*.txt` and `ImageSets/Main/*.txt`: the item ids.

Reading: each object is the exact pixels of its index (holes and parts kept), its class the SegmentationClass
majority, else the XML `<name>` (see `_instances` for how an index finds its `<object>`). Void (255) belongs to no
object. An `<object>` with no pixels is read as its box.
Writing: the same layout with VOC's palette, no void borders drawn (they would cut pixels off every object), and
VOC's limits said in the notes: one index per pixel (overlaps go to the later object), at most 254 objects per
image and 254 classes, an object with no pixel left out (it has no index and no box). Each image is placed in
`JPEGImages/` under its `<filename>` (a hard link, else a copy) when its file is known; the files are written in one
batch (_common.FileBatch: a reader never sees half a file; one sync at the end).
"""

from __future__ import annotations

import io
import math
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape

import numpy as np
from PIL import Image

from protolabel.segmentation.coco.dataset import Category, CocoDataset, CocoImage
from protolabel.segmentation.formats._common import (
    FileBatch,
    InsideCheck,
    clean_relative,
    counted_notes,
    far_outside,
    object_array,
    read_inside,
    tally,
    traced_shapes,
)
from protolabel.segmentation.formats.base import AnnotationFormat, FormatError
from protolabel.segmentation.formats.xml_input import Problems, name_for_folder, parse_xml, short
from protolabel.segmentation.geometry.instances import Instances
from protolabel.segmentation.geometry.provenance import HUMAN_DRAWN, Provenance
from protolabel.segmentation.geometry.rasterise import ColumnRuns, shapes_to_runs
from protolabel.segmentation.geometry.shapes import Polygon, Shape
from protolabel.segmentation.image_headers import image_size_from_header
from protolabel.segmentation.images import MAX_PIXELS

ANNOTATIONS, IMAGES = "Annotations", "JPEGImages"
OBJECTS, CLASSES = "SegmentationObject", "SegmentationClass"
LABELMAP = "labelmap.txt"
SUBSET_FOLDERS = ("ImageSets/Segmentation", "ImageSets/Main")
VOID = 255  # VOC's index for unlabelled pixels (object borders, ambiguous regions)
MAX_INDEX = 254  # the most objects or classes one PNG can number besides background and void
MAX_XML_BYTES = 16 << 20  # one image's objects: kilobytes
MAX_PNG_BYTES = 256 << 20
VOC_CLASSES = (
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
)  # fmt: skip
FLAGS = ("difficult", "truncated", "occluded")  # VOC's per-object 0/1 fields, kept as attributes


def voc_palette() -> np.ndarray:
    """uint8 [256, 3]: VOC's colour of each index (the devkit's bit-interleaved colour map; 255 is the void colour)."""
    index = np.arange(256)
    colours = np.zeros((256, 3), np.int64)
    for shift in range(8):
        for channel in range(3):
            colours[:, channel] |= ((index >> (channel + 3 * shift)) & 1) << (7 - shift)
    return colours.astype(np.uint8)


# ---------------------------------------------------------------------------------------------------- reading


def looks_like_voc(path: Path) -> bool:
    """A folder with SegmentationObject/, or Annotations/ beside ImageSets/ or JPEGImages/ (no file is read)."""
    if not path.is_dir():
        return False
    return (path / OBJECTS).is_dir() or (
        (path / ANNOTATIONS).is_dir() and ((path / "ImageSets").is_dir() or (path / IMAGES).is_dir())
    )


@dataclass
class _XmlObject:
    name: str
    box: tuple[float, float, float, float] | None  # x1, y1, x2, y2 in our pixel-edge coordinates
    attributes: dict[str, Any]


def read_voc(path: Path, images_folder: Path) -> CocoDataset:
    """The objects of a VOC folder (see the module docstring); FormatError naming the files and elements at fault."""
    root = Path(path)
    problems = Problems(str(root), "Pascal VOC folder")
    if not root.is_dir():
        raise FormatError(f"{root}: not a folder; a Pascal VOC dataset is a folder with Annotations/ and ImageSets/")
    inside = InsideCheck(root)
    labels = _label_names(inside, problems)
    problems.raise_if_any()
    notes: dict[str, int] = {}
    images: list[CocoImage] = []
    category_names: dict[str, None] = dict.fromkeys(labels[1:])
    records = []
    for item in _item_ids(inside, problems):
        record = _read_item(inside, item, labels, problems, notes)
        if record is not None:
            records.append(record)
            category_names.update(dict.fromkeys(obj[1] for obj in record[3]))
    problems.raise_if_any()
    traced = traced_shapes([obj[0] for record in records for obj in record[3] if isinstance(obj[0], dict)])
    names = tuple(category_names)
    index_of = {name: i for i, name in enumerate(names)}
    base = root / IMAGES
    for file_name, width, height, objects in records:
        instances = Instances(
            (height, width),
            class_names=names,
            shapes=[next(traced) if isinstance(obj[0], dict) else obj[0] for obj in objects],
            classes=[index_of[obj[1]] for obj in objects],
            provenance=HUMAN_DRAWN,
            attributes=object_array([obj[2] or None for obj in objects]),
        )
        name = name_for_folder(base, file_name, images_folder)
        images.append(CocoImage(name, width, height, instances))
    categories = tuple(Category(i + 1, name) for i, name in enumerate(names))
    return CocoDataset(categories, images, import_notes=tuple(counted_notes(notes, _NOTES)))


_NOTES = {
    "box_only": ("object", " with no pixels in SegmentationObject: read as the rectangle of its <bndbox>"),
    "class_from_png": ("object", " with no <object> of that class in the XML: read without attributes"),
    "class_disagrees": ("object", " of another class in SegmentationClass than in the XML <name>: "
                        "SegmentationClass was kept"),
    "semantic_only": ("image", " with only SegmentationClass: each class's pixels were read as one object"),
    "boxes_dropped": ("<object>", " of images with only SegmentationClass not read (no pixels of their own)"),
}  # fmt: skip


def _read_file(inside: InsideCheck, path: Path, limit: int, what: str) -> bytes:
    """A file of the dataset, by the project's one rule for files a dataset names (read_inside)."""
    return read_inside(inside, path.relative_to(inside.root).as_posix(), limit, what)


def _label_names(inside: InsideCheck, problems: Problems) -> list[str]:
    """Class names by index, background at 0: labelmap.txt's, else VOC's own."""
    path = inside.root / LABELMAP
    if not path.exists():
        return list(VOC_CLASSES)
    try:
        text = _read_file(inside, path, MAX_XML_BYTES, "label map").decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.add(LABELMAP, f"cannot be read ({exc})")
        return []
    names: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name = line.split(":", 1)[0].strip()
        if not name or name in names:
            problems.add(f"{LABELMAP} line {number}", f"empty or repeated label name {short(name)}")
            continue
        names.append(name)
    if not names or names[0].lower() not in ("background", "_background_"):
        names.insert(0, "background")
    if len(names) > MAX_INDEX + 1:
        problems.add(LABELMAP, f"{len(names) - 1} classes; a VOC class PNG numbers at most {MAX_INDEX}")
    return names


def _item_ids(inside: InsideCheck, problems: Problems) -> list[str]:
    """The ids of ImageSets' lists, else those of the XML and PNG files present; sorted, each once."""
    root = inside.root
    ids: dict[str, None] = {}
    for folder in SUBSET_FOLDERS:
        for listing in sorted((root / folder).glob("*.txt")) if (root / folder).is_dir() else ():
            if "_" in listing.stem:  # per-class lists (cat_train.txt) repeat the ids with a flag
                continue
            where = listing.relative_to(root).as_posix()
            try:
                text = _read_file(inside, listing, MAX_XML_BYTES, "image set list").decode("utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                problems.add(where, f"cannot be read ({exc})")
                continue
            for number, line in enumerate(text.splitlines(), 1):
                item = line.split()[0] if line.split() else ""
                if not item or item.startswith("#"):
                    continue
                safe = clean_relative(item)
                if safe is None:
                    problems.add(f"{where} line {number}", f"id {short(item)} points outside the folder")
                    continue
                ids[safe] = None
    if not ids:
        for folder, suffix in ((ANNOTATIONS, ".xml"), (OBJECTS, ".png")):
            if (root / folder).is_dir():
                for file in (root / folder).rglob(f"*{suffix}"):
                    ids[file.relative_to(root / folder).with_suffix("").as_posix()] = None
    if not ids and not problems.items:
        problems.add(
            ".", "no items: neither ImageSets/Segmentation/*.txt nor Annotations/*.xml nor SegmentationObject/*.png"
        )
    return sorted(ids)


def _read_item(
    inside: InsideCheck, item: str, labels: list[str], problems: Problems, notes: dict[str, int]
) -> tuple[str, int, int, list[tuple[Shape | dict, str, dict]]] | None:
    """(image file name, width, height, [(shape, class name, attributes)]) of one item, or None after a problem.
    A shape read from pixels is the uncompressed COCO RLE of its pixels, traced later (`traced_shapes`)."""
    root = str(inside.root)  # names as strings: a Path per file name cost more than reading the XML
    xml_where, object_where, class_where = f"{ANNOTATIONS}/{item}.xml", f"{OBJECTS}/{item}.png", f"{CLASSES}/{item}.png"
    has_xml, has_objects, has_classes = (
        os.path.exists(os.path.join(root, name)) for name in (xml_where, object_where, class_where)
    )
    file_name, size = f"{item}.jpg", None
    xml_objects: list[_XmlObject] = []
    if has_xml:
        parsed = _read_xml(inside, xml_where, item.rsplit("/", 1)[-1], problems)
        if parsed is None:
            return None
        file_name, size, xml_objects = parsed
    elif not has_objects and not has_classes:
        problems.add(item, f"listed, but there is no {xml_where}, {object_where} or {class_where}")
        return None
    object_ids = _read_png(inside, object_where, size, problems) if has_objects else None
    if object_ids is not None:
        size = size or (object_ids.shape[1], object_ids.shape[0])
    class_ids = _read_png(inside, class_where, size, problems) if has_classes else None
    if class_ids is not None:
        size = size or (class_ids.shape[1], class_ids.shape[0])
        present = np.flatnonzero(np.bincount(class_ids.ravel(), minlength=256)).tolist()
        unknown = sorted(set(present) - {VOID} - set(range(len(labels))))
        if unknown:
            problems.add(class_where, f"class indices {unknown[:10]} are not in the label list")
            return None
    if size is None:
        problems.add(xml_where, "no <size> and no PNG to take the image size from")
        return None
    if (has_objects and object_ids is None) or (has_classes and class_ids is None):
        return None
    width, height = size
    for i, obj in enumerate(xml_objects):
        if obj.box is not None and far_outside(np.reshape(obj.box, (2, 2)), width, height):
            problems.add(
                f"{xml_where} <object>[{i}] <bndbox>",
                f"lies more than one image size outside the {width}x{height} image",
            )
            return None
    if object_ids is not None:
        objects = _instances(object_ids, class_ids, xml_objects, labels, item, problems, notes)
    elif class_ids is not None:
        objects = _class_regions(class_ids, labels)
        tally(notes, "semantic_only")
        tally(notes, "boxes_dropped", len(xml_objects))
    else:
        objects = []
        for obj in xml_objects:
            objects.append((_rectangle(obj.box), obj.name, obj.attributes))
        tally(notes, "box_only", len(xml_objects))
    return file_name, width, height, objects


def _read_xml(
    inside: InsideCheck, where: str, item: str, problems: Problems
) -> tuple[str, tuple[int, int] | None, list[_XmlObject]] | None:
    """(image file name, (width, height) if given, objects) of the XML `where` names; `item` its name without
    folder or extension."""
    try:
        document = parse_xml(read_inside(inside, where, MAX_XML_BYTES, "VOC annotation"), where)
    except FormatError as exc:
        problems.add(where, str(exc).removeprefix(f"{where}: "))
        return None
    except OSError as exc:
        problems.add(where, f"cannot be read ({exc.strerror or exc})")
        return None
    if document.tag != "annotation":
        problems.add(where, f"the root element is <{document.tag}>, not <annotation>")
        return None
    written = (document.findtext("filename") or "").strip() or f"{item}.jpg"
    file_name = clean_relative(written)
    if file_name is None:
        problems.add(f"{where} <filename>", f"{short(written)} points outside the images folder")
        return None
    size = None
    width, height = _int_text(document, "size/width"), _int_text(document, "size/height")
    if width is not None and height is not None and width > 0 and height > 0:
        if width * height > MAX_PIXELS:
            problems.add(
                f"{where} <size>", f"{width}x{height} pixels, more than the {MAX_PIXELS // 1_000_000} MP supported"
            )
            return None
        size = (width, height)
    objects = []
    for i, element in enumerate(document.findall("object")):
        texts = _child_texts([element])  # one pass over the children: a findtext per field cost more than the PNGs
        name = texts.get("name", "").strip()
        if not name:
            problems.add(f"{where} <object>[{i}]", "has no <name>")
            return None
        box = None
        boxes = [child for child in element if child.tag == "bndbox"]
        if boxes:
            box_texts = _child_texts(boxes)
            values = [_finite(box_texts.get(key)) for key in ("xmin", "ymin", "xmax", "ymax")]
            if any(v is None for v in values):
                problems.add(f"{where} <object>[{i}] <bndbox>", "xmin, ymin, xmax and ymax must be finite numbers")
                return None
            xmin, ymin, xmax, ymax = (float(v) for v in values)  # type: ignore[arg-type]
            if xmax < xmin or ymax < ymin:
                problems.add(f"{where} <object>[{i}] <bndbox>", f"max below min ({xmin}, {ymin}, {xmax}, {ymax})")
                return None
            box = (xmin - 1, ymin - 1, xmax, ymax)  # 1-based inclusive pixel indices -> pixel edges
        attributes: dict[str, Any] = {}
        for flag in FLAGS:
            value = _integer(_finite(texts.get(flag)))
            if value is not None:
                attributes[flag] = bool(value)
        pose = texts.get("pose", "").strip()
        if pose and pose != "Unspecified":
            attributes["pose"] = pose
        for attribute in element.findall("attributes/attribute"):  # Datumaro's extension: any other attribute
            key = (attribute.findtext("name") or "").strip()
            if key and key not in attributes:
                attributes[key] = _typed(attribute.findtext("value") or "")
        objects.append(_XmlObject(name, box, {"attributes": attributes} if attributes else {}))
    return file_name, size, objects


def _read_png(inside: InsideCheck, where: str, size: tuple[int, int] | None, problems: Problems) -> np.ndarray | None:
    """uint8 [H, W] indices of the VOC PNG `where` names (palette or grey; RGB through VOC's colours), or None
    after a problem."""
    try:
        data = read_inside(inside, where, MAX_PNG_BYTES, "segmentation PNG")
    except OSError as exc:
        problems.add(where, f"cannot be read ({exc.strerror or exc})")
        return None
    header = image_size_from_header(data)
    if header is None:
        problems.add(where, "not a PNG image")
        return None
    if header[0] * header[1] > MAX_PIXELS:
        problems.add(where, f"{header[0]}x{header[1]} pixels, more than the {MAX_PIXELS // 1_000_000} MP supported")
        return None
    if size is not None and header != size:
        problems.add(where, f"is {header[0]}x{header[1]} but the image is {size[0]}x{size[1]} (Annotations <size>)")
        return None
    unfiltered = _unfiltered_png_indices(data)
    if unfiltered is not None:
        return unfiltered
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            mode = image.mode
            pixels = np.asarray(image)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        problems.add(where, f"cannot decode the PNG ({exc})")
        return None
    if mode in ("P", "L"):
        return pixels.astype(np.uint8, copy=False)
    if mode in ("RGB", "RGBA"):
        return _indices_of_colours(pixels[..., :3], where, problems)
    problems.add(where, f"a {mode} PNG; VOC masks are palette (or grey) PNGs of indices")
    return None


def _unfiltered_png_indices(data: bytes) -> np.ndarray | None:
    """uint8 [H, W] of a well-formed 8-bit palette or grey PNG, not interlaced, whose rows are all unfiltered (as
    `_palette_png` writes them), read without PIL, whose set-up cost several times the decoding on VOC's masks;
    None for any other PNG, or a damaged one, which PIL reads (and names the damage)."""
    if not data.startswith(PNG_SIGNATURE):
        return None
    header, idat, position = None, [], len(PNG_SIGNATURE)
    while True:
        if position + 12 > len(data):
            return None
        length, kind = struct.unpack_from(">I4s", data, position)
        end = position + 8 + length
        if end + 4 > len(data) or zlib.crc32(data[position + 4 : end]) != struct.unpack_from(">I", data, end)[0]:
            return None
        if kind == b"IHDR" and length == 13:
            header = struct.unpack_from(">IIBBBBB", data, position + 8)
        elif kind == b"IDAT":
            idat.append(data[position + 8 : end])
        elif kind == b"IEND":
            break
        position = end + 4
    if header is None or header[2:] not in ((8, 3, 0, 0, 0), (8, 0, 0, 0, 0)):  # 8-bit palette or grey, plain
        return None
    width, height = header[0], header[1]
    expected = height * (width + 1)
    try:
        raw = zlib.decompressobj().decompress(b"".join(idat), expected)  # at most what the header promises
    except zlib.error:
        return None
    if len(raw) != expected:
        return None
    rows = np.frombuffer(raw, np.uint8).reshape(height, width + 1)
    return rows[:, 1:].copy() if not rows[:, 0].any() else None  # byte 0 of a row: its filter, 0 = none


def _indices_of_colours(rgb: np.ndarray, where: str, problems: Problems) -> np.ndarray | None:
    """The VOC palette index of each pixel of an RGB mask (as some tools save them)."""
    key = (rgb[..., 0].astype(np.int64) << 16) | (rgb[..., 1].astype(np.int64) << 8) | rgb[..., 2]
    palette = voc_palette().astype(np.int64)
    palette_keys = (palette[:, 0] << 16) | (palette[:, 1] << 8) | palette[:, 2]
    lookup = dict(zip(palette_keys.tolist(), range(256)))
    values, inverse = np.unique(key, return_inverse=True)
    unknown = [v for v in values.tolist() if v not in lookup]
    if unknown:
        shown = [f"#{v:06x}" for v in unknown[:5]]
        problems.add(where, f"colours {shown} are not in VOC's palette")
        return None
    return np.array([lookup[v] for v in values.tolist()], np.uint8)[inverse.reshape(key.shape)]


def _instances(
    object_ids: np.ndarray,
    class_ids: np.ndarray | None,
    xml_objects: list[_XmlObject],
    labels: list[str],
    item: str,
    problems: Problems,
    notes: dict[str, int],
) -> list[tuple[Shape | dict, str, dict]]:
    """Each index of the SegmentationObject PNG as an object (its pixels as an RLE), in index order, then the XML
    objects without pixels.

    An index's class is its SegmentationClass majority, else its <object>'s <name>. Its <object> (attributes) is
    the k-th when that one is of its class, else the unused one of its class whose box fits its pixels best:
    Datumaro numbers the indices in its own order, not the XML's."""
    out: list[tuple[Shape | dict, str, dict]] = []
    unused = dict(enumerate(xml_objects))
    majorities = _majority_classes(object_ids, class_ids) if class_ids is not None else None
    for index, extent, rle in _index_regions(object_ids):
        majority = majorities[index] if majorities is not None and majorities[index] >= 0 else None
        own = xml_objects[index - 1] if index <= len(xml_objects) else None
        name = labels[majority] if majority is not None else own.name if own is not None else None
        if name is None:
            problems.add(
                f"{OBJECTS}/{item}.png",
                f"index {index} has no <object> in {ANNOTATIONS}/{item}.xml and no {CLASSES} pixels to name its class",
            )
            continue
        match = _matching_object(unused, index - 1, name, extent)
        if match is None:
            attributes: dict = {}
            if own is None or own.name != name:
                tally(notes, "class_from_png")
        else:
            attributes = unused.pop(match).attributes
        if own is not None and majority is not None and own.name != name and match == index - 1:
            tally(notes, "class_disagrees")
        out.append((rle, name, attributes))
    for obj in unused.values():
        if obj.box is not None:
            out.append((_rectangle(obj.box), obj.name, obj.attributes))
            tally(notes, "box_only")
    return out


def _matching_object(
    unused: dict[int, _XmlObject], position: int, name: str, extent: tuple[int, int, int, int]
) -> int | None:
    """The XML object that describes the pixels at `extent` of class `name`: the one at `position` if it is of that
    class, else the unused one of that class whose box overlaps the extent most (IoU at least 0.5)."""
    own = unused.get(position)
    if own is not None and own.name == name:
        return position
    best, best_iou = None, 0.5
    for k, obj in unused.items():
        if obj.name == name and obj.box is not None:
            iou = _box_iou(obj.box, extent)
            if iou >= best_iou:
                best, best_iou = k, iou
    return best


def _box_iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _index_regions(ids: np.ndarray) -> list[tuple[int, tuple[int, int, int, int], dict]]:
    """(index, (x0, y0, x1, y1) of its pixels (x1, y1 exclusive), uncompressed COCO RLE of its pixels) of each
    index in 1..254 present in an index PNG, in index order, from one pass over the PNG's runs down its columns."""
    height, width = ids.shape
    flat = ids.T.ravel()  # COCO's column-major order
    size = flat.size
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    starts, ends = np.concatenate(([0], change)), np.concatenate((change, [size]))
    values = flat[starts]
    labelled = np.flatnonzero((values != 0) & (values != VOID))
    order = labelled[np.argsort(values[labelled], kind="stable")]  # index by index, each in pixel order
    starts, ends, values = starts[order], ends[order], values[order]
    present, first, runs = np.unique(values, return_index=True, return_counts=True)
    if not present.size:
        return []
    last = first + runs - 1
    previous_end = np.concatenate(([0], ends[:-1]))
    previous_end[first] = 0
    counts = np.stack((starts - previous_end, ends - starts), axis=1).ravel().tolist()
    start_col, start_row = np.divmod(starts, height)
    end_col, end_row = np.divmod(ends - 1, height)
    within = start_col == end_col  # a run going on into the next column spans every row
    top = np.minimum.reduceat(np.where(within, start_row, 0), first)
    bottom = np.maximum.reduceat(np.where(within, end_row, height - 1), first) + 1
    extents = zip(start_col[first].tolist(), top.tolist(), (end_col[last] + 1).tolist(), bottom.tolist())
    tails = (size - ends[last]).tolist()
    out = []
    for index, extent, begin, end, tail in zip(
        present.tolist(), extents, (2 * first).tolist(), (2 * last + 2).tolist(), tails
    ):
        out.append((index, extent, {"size": [height, width], "counts": [*counts[begin:end], tail]}))
    return out


def _majority_classes(object_ids: np.ndarray, class_ids: np.ndarray) -> np.ndarray:
    """int64 [256]: per object index, the class index most of its pixels have in SegmentationClass (the lowest of
    a tie; background and void not counted), -1 where none has one."""
    objects, classes = object_ids.ravel(), class_ids.ravel()
    counted = (classes != 0) & (classes != VOID) & (objects != 0) & (objects != VOID)
    keys = objects[counted].astype(np.int64) * 256 + classes[counted]
    table = np.bincount(keys, minlength=256 * (int(keys.max()) // 256 + 1) if keys.size else 0).reshape(-1, 256)
    majority = np.full(256, -1, np.int64)
    majority[: len(table)] = np.where(table.max(axis=1) > 0, table.argmax(axis=1), -1)
    return majority


def _class_regions(class_ids: np.ndarray, labels: list[str]) -> list[tuple[Shape | dict, str, dict]]:
    return [(rle, labels[index], {}) for index, _, rle in _index_regions(class_ids)]


def _rectangle(box: tuple[float, float, float, float] | None) -> Shape:
    if box is None:
        return Shape(())
    x1, y1, x2, y2 = box
    return Shape((Polygon(np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]])),))


def _child_texts(parents: list[Element]) -> dict[str, str]:
    """Per tag, the text of the first child of that tag among the parents' children in document order ('' when
    empty): what `findtext(tag)` (or `findtext("parent/tag")` over several parents) gives, for all tags at once."""
    texts: dict[str, str] = {}
    for parent in parents:
        for child in parent:
            if child.tag not in texts:
                texts[child.tag] = child.text or ""
    return texts


def _int_text(element: Element, path: str) -> int | None:
    return _integer(_finite(element.findtext(path)))


def _integer(value: float | None) -> int | None:
    return int(value) if value is not None and value == int(value) else None


def _finite(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


def _typed(text: str) -> Any:
    """An attribute value's text: true/false (any case) a bool, an integer or finite decimal a number, else text."""
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    try:
        value = float(text)
    except ValueError:
        return text
    if not math.isfinite(value) or text != text.strip():
        return text
    return int(text) if text.lstrip("-").isdigit() else value


# ---------------------------------------------------------------------------------------------------- writing


def write_voc(dataset: CocoDataset, out: Path) -> list[str]:
    """Write `dataset` as a VOC folder at `out` (see the module docstring); returns what VOC could not carry."""
    out = Path(out)
    names = dataset.category_names
    if len(names) > MAX_INDEX:
        raise FormatError(f"{len(names)} classes; a VOC class PNG numbers at most {MAX_INDEX} (255 is void)")
    if any(":" in name or "\n" in name for name in names):
        raise FormatError("class names with ':' or a line break cannot be written to labelmap.txt")
    items = _item_names(dataset)
    palette = voc_palette()
    counts: dict[str, int] = {}
    lines = ["# label:color_rgb:parts:actions"]
    for index, name in enumerate(("background", *names)):
        r, g, b = palette[index].tolist()
        lines.append(f"{name}:{r},{g},{b}::")
    listing = "".join(f"{item}\n" for item in items).encode("utf-8")
    with FileBatch(out) as files:
        files.write_bytes(out / LABELMAP, ("\n".join(lines) + "\n").encode("utf-8"))
        for chunk in _chunks(dataset.images, items):
            # A group's files are all encoded before any is handed to the writers: encoding while they ran cost
            # several times the encoding, each array call waiting for the interpreter lock (GIL) to come back.
            runs = _object_runs(chunk)
            encoded = []
            for (image, _, first, _), (begin, end) in zip(chunk, _run_slices(runs.owner, chunk)):
                own = slice(begin, end)
                pixels = (runs.column[own], runs.top[own], runs.bottom[own], runs.owner[own] - first + 1)
                encoded.append(_encode_item(image, pixels, names, palette, counts))
            for (image, item, _, _), (xml, object_png, class_png) in zip(chunk, encoded):
                source = image.source_name
                if source and os.path.isabs(source):  # a source that is not a file: counted by the batch
                    files.place_image(Path(str(source)), out / IMAGES / image.file_name)
                else:
                    tally(counts, "images")
                files.write_bytes(out / ANNOTATIONS / f"{item}.xml", xml)
                files.write_bytes(out / OBJECTS / f"{item}.png", object_png)
                files.write_bytes(out / CLASSES / f"{item}.png", class_png)
        for folder in SUBSET_FOLDERS:
            files.write_bytes(out / folder / "default.txt", listing)
    tally(counts, "images", len(files.unplaced))
    return counted_notes(counts, _WRITE_NOTES)


_WRITE_NOTES = {
    "overlap": ("object", " overlapping a later object: VOC has one index per pixel, so the later object kept them"),
    "covered": ("object", " covered entirely by later ones: written as <object> boxes only"),
    "too_many": ("object", f" beyond the {MAX_INDEX} a VOC PNG can number: not written"),
    "no_pixels": ("object", " with no pixel (smaller than a pixel or outside the image): not written"),
    "crowd": ("crowd region", " written as ordinary objects (VOC has no crowd flag)"),
    "auto": ("object", " the model made written without saying so (VOC has no field): read back, drawn by a person"),
    "attributes": ("attribute value", " not text, a number or true/false: not written"),
    "images": ("image", " not placed in JPEGImages/: their files are not known; put them there under the names "
               "in each XML's <filename>"),
}  # fmt: skip


def _item_names(dataset: CocoDataset) -> list[str]:
    """Each image's VOC id: its file name without the extension; FormatError for names that leave the folder
    or two images that would share one id."""
    items: list[str] = []
    seen: dict[str, str] = {}
    for image in dataset.images:
        safe = clean_relative(image.file_name)
        if safe is None:
            raise FormatError(f"{image.file_name!r} points outside the folder; it cannot name a VOC item")
        item = safe.rsplit(".", 1)[0] if "." in safe.rsplit("/", 1)[-1] else safe
        if item in seen:
            raise FormatError(f"{seen[item]!r} and {image.file_name!r} would both be VOC item {item!r}")
        seen[item] = image.file_name
        items.append(item)
    return items


CHUNK_PIXELS = 1 << 24  # images whose objects are rasterised in one pass: the pass's memory follows their pixels


def _kept_shapes(image: CocoImage, counts: dict[str, int] | None = None) -> list[int]:
    """The objects of `image` that VOC numbers: each with a shape, at most MAX_INDEX (counted in `counts`)."""
    keep = [i for i, shape in enumerate(image.instances.shapes.tolist()) if not shape.is_empty()]
    if len(keep) > MAX_INDEX and counts is not None:
        tally(counts, "too_many", len(keep) - MAX_INDEX)
    return keep[:MAX_INDEX]


def _chunks(images: list[CocoImage], items: list[str]) -> Iterator[list[tuple[CocoImage, str, int, int]]]:
    """(image, item, first, end) in groups of about CHUNK_PIXELS pixels; [first, end) numbers the image's
    kept objects within its group."""
    chunk: list[tuple[CocoImage, str, int, int]] = []
    pixels = objects = 0
    for image, item in zip(images, items):
        count = len(_kept_shapes(image))
        chunk.append((image, item, objects, objects + count))
        objects += count
        pixels += image.width * image.height
        if pixels >= CHUNK_PIXELS:
            yield chunk
            chunk, pixels, objects = [], 0, 0
    if chunk:
        yield chunk


def _object_runs(chunk: list[tuple[CocoImage, str, int, int]]) -> ColumnRuns:
    """The pixels of every kept object of a group of images, numbered as `_chunks` numbers them."""
    shapes, sizes = [], []
    for image, _, _, _ in chunk:
        inst = image.instances
        all_shapes = inst.shapes.tolist()
        for i in _kept_shapes(image):
            shapes.append(all_shapes[i])
            sizes.append(inst.image_size)
    return shapes_to_runs(shapes, sizes)


def _run_slices(owner: np.ndarray, chunk: list[tuple[CocoImage, str, int, int]]) -> Iterator[tuple[int, int]]:
    """[begin, end) of each image's runs (runs come object after object)."""
    bounds = np.searchsorted(owner, [c[2] for c in chunk] + [chunk[-1][3]]).tolist()
    return zip(bounds[:-1], bounds[1:])


def _encode_item(
    image: CocoImage,
    pixels: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    names: tuple[str, ...],
    palette: np.ndarray,
    counts: dict[str, int],
) -> tuple[bytes, bytes, bytes]:
    """One item's XML, SegmentationObject PNG and SegmentationClass PNG. `pixels` holds the column runs
    (column, top, bottom, object number from 1) of its kept objects."""
    inst = image.instances
    shapes = inst.shapes.tolist()
    classes = inst.classes.tolist()
    attributes: list[Any] = inst.attributes.tolist() if inst.has("attributes") else [None] * len(shapes)
    crowd, provenance = inst.crowd.tolist(), inst.provenance.tolist()
    keep = _kept_shapes(image, counts)
    height, width = inst.image_size
    column, top, bottom, number = pixels
    lengths = bottom - top
    # Painted down the columns (each run one slice of the buffer), in object order: a later object keeps the
    # pixels it shares with an earlier one, as VOC's one index per pixel must.
    object_ids = np.zeros(height * width, np.uint8)
    if lengths.size:
        offsets = np.cumsum(lengths) - lengths
        where = np.repeat(column * height + top - offsets, lengths) + np.arange(int(offsets[-1] + lengths[-1]))
        np.maximum.at(object_ids, where, np.repeat(number.astype(np.uint8), lengths))
    areas = np.bincount(number, weights=lengths, minlength=len(keep) + 1).astype(np.int64)
    extents = _pixel_extents(pixels)
    if not areas[1:].all():  # no pixel (smaller than one, or outside the image): no index and no valid <bndbox>
        tally(counts, "no_pixels", int((areas[1:] == 0).sum()))
        renumber = np.zeros(len(keep) + 1, np.uint8)
        written = np.flatnonzero(areas[1:]) + 1
        renumber[written] = np.arange(1, written.size + 1)
        object_ids = renumber[object_ids]
        keep, areas = [keep[k - 1] for k in written.tolist()], areas[np.concatenate(([0], written))]
        extents = {new: extents[old] for new, old in enumerate(written.tolist(), 1)}
    class_of = np.zeros(len(keep) + 1, np.uint8)
    class_of[1:] = [classes[i] + 1 for i in keep]
    object_png = object_ids.reshape(width, height).T
    class_png = class_of[object_ids].reshape(width, height).T
    kept = np.bincount(object_ids, minlength=len(keep) + 1)
    # The XML is built as text (ElementTree's own layout: declaration, two-space indent, `<tag />` when empty):
    # building and serialising an element tree cost more than the rest of the item.
    lines = [
        "<?xml version='1.0' encoding='utf-8'?>",
        "<annotation>",
        _leaf(1, "folder", IMAGES),
        _leaf(1, "filename", image.file_name),
        "  <size>",
        _leaf(2, "width", str(image.width)),
        _leaf(2, "height", str(image.height)),
        _leaf(2, "depth", "3"),
        "  </size>",
        _leaf(1, "segmented", "1"),
    ]
    for k, i in enumerate(keep, 1):
        if kept[k] < areas[k]:
            tally(counts, "covered" if kept[k] == 0 else "overlap")
        tally(counts, "crowd", int(crowd[i]))
        tally(counts, "auto", int(provenance[i] == Provenance.AUTO.value))
        value = attributes[i] if isinstance(attributes[i], dict) else {}
        extra = value.get("attributes")
        extra = extra if isinstance(extra, dict) else {}
        if set(value) - {"attributes"}:
            tally(counts, "attributes")
        pose = str(extra.get("pose", "Unspecified"))
        lines += ["  <object>", _leaf(2, "name", names[classes[i]]), _leaf(2, "pose", pose)]
        lines += [_leaf(2, flag, "1" if extra.get(flag) else "0") for flag in FLAGS]
        x0, y0, x1, y1 = extents[k]
        lines.append("    <bndbox>")
        lines += [_leaf(3, key, str(v)) for key, v in (("xmin", x0 + 1), ("ymin", y0 + 1), ("xmax", x1), ("ymax", y1))]
        lines.append("    </bndbox>")
        others = {k: v for k, v in extra.items() if k not in (*FLAGS, "pose")}
        if others:
            lines += _attribute_lines(others, counts)
        lines.append("  </object>")
    lines.append("</annotation>")
    xml = "\n".join(lines).encode("utf-8", "xmlcharrefreplace")
    return xml, _palette_png(object_png, palette), _palette_png(class_png, palette)


def _leaf(depth: int, tag: str, text: str) -> str:
    """One element with text on its own line, indented and escaped as ElementTree writes it."""
    pad = "  " * depth
    return f"{pad}<{tag}>{escape(text)}</{tag}>" if text else f"{pad}<{tag} />"


def _attribute_lines(values: dict[str, Any], counts: dict[str, int]) -> list[str]:
    """Attributes other than VOC's own, as Datumaro writes them: <attribute><name/><value/></attribute>."""
    lines = []
    for key, value in values.items():
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, (int, float, str)) and not (isinstance(value, float) and not math.isfinite(value)):
            text = str(value)
        else:
            tally(counts, "attributes")
            continue
        lines += ["      <attribute>", _leaf(4, "name", str(key)), _leaf(4, "value", text), "      </attribute>"]
    return ["    <attributes>", *lines, "    </attributes>"] if lines else ["    <attributes />"]


def _pixel_extents(pixels: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]) -> dict[int, tuple[int, ...]]:
    """Per object number with pixels, (x0, y0, x1, y1) of its pixels, x1 and y1 exclusive."""
    column, top, bottom, number = pixels
    present = np.unique(number)
    first = np.searchsorted(number, present)
    last = np.searchsorted(number, present, side="right") - 1
    if not present.size:
        return {}
    return dict(
        zip(
            present.tolist(),
            zip(
                column[first].tolist(),
                np.minimum.reduceat(top, first).tolist(),
                (column[last] + 1).tolist(),
                np.maximum.reduceat(bottom, first).tolist(),
            ),
        )
    )


def _palette_png(indices: np.ndarray, palette: np.ndarray) -> bytes:
    """An 8-bit palette PNG of `indices` (lossless). Written here rather than through PIL, whose image set-up
    cost ten times the encoding on VOC's small masks; zlib level PNG_LEVEL (not PIL's 6): index masks are long
    runs, which the fast level packs nearly as well at a third of the time."""
    height, width = indices.shape
    rows = np.zeros((height, width + 1), np.uint8)  # each row led by its filter type: 0, none
    rows[:, 1:] = indices
    header = struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0)  # 8-bit, palette, deflate, no interlace
    return b"".join(
        (
            PNG_SIGNATURE,
            _png_chunk(b"IHDR", header),
            _png_chunk(b"PLTE", palette.astype(np.uint8).tobytes()),
            _png_chunk(b"IDAT", zlib.compress(rows.tobytes(), PNG_LEVEL)),
            _png_chunk(b"IEND", b""),
        )
    )


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_LEVEL = 3


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


FORMAT = AnnotationFormat(
    name="voc",
    title="Pascal VOC (segmentation)",
    looks_like=looks_like_voc,
    read=read_voc,
    write=write_voc,
    writes_folder=True,
)
