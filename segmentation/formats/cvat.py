"""CVAT for images 1.1 XML (`annotations.xml`), read and written.

Read: `<meta>`'s labels (with their attribute specs) become the categories in order; per `<image id name width
height>`: `<polygon points="x,y;...">`, `<box xtl ytl xbr ybr rotation>` (a rectangle, turned by `rotation` degrees
about its centre) and `<mask rle left top width height>` become objects; `<tag label>` become the image's tags
(`CocoImage.extra["tags"]`); polylines, points, ellipses, cuboids and skeletons are not areas and are counted in
the notes. Each object's `occluded` and `<attribute name>` values are kept as `{"attributes": {...}}` (the
`attributes` field of Instances, which the COCO export writes as CVAT's own COCO export does), typed by the label's
`input_type` (checkbox: bool, number: int or float, others: text).

CVAT's mask RLE: comma-separated run lengths over the box `width` x `height` at (`left`, `top`), row by row
(row-major), alternately background and object, starting with background (a leading 0 when the first pixel is set).

Written: an object with one part and no holes as `<polygon>`; with holes or several parts as `<mask>` (a polygon
cannot hold them, a mask keeps their pixels exactly); crowd regions as ordinary objects (CVAT has no crowd flag).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, SubElement, indent, tostring

import numpy as np

from protolabel.segmentation.coco.dataset import Category, CocoDataset, CocoImage
from protolabel.segmentation.files import atomic_write_bytes
from protolabel.segmentation.formats._common import (
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
from protolabel.segmentation.geometry.rasterise import shapes_to_runs
from protolabel.segmentation.geometry.shapes import Polygon, Shape
from protolabel.segmentation.images import MAX_PIXELS
from protolabel.segmentation.input_files import open_input, read_input_bytes

FILE_NAME = "annotations.xml"
IMAGES = "images"  # where CVAT's export zip keeps the images, beside annotations.xml
MAX_XML_BYTES = 2 << 30  # as the COCO reader: the largest label file read
NOT_AREAS = ("polyline", "points", "ellipse", "cuboid", "skeleton")
_HEADER_BYTES = 4096
_RUNS = re.compile(r"\s*\d+\s*(,\s*\d+\s*)*")


def _xml_path(path: Path) -> Path:
    return path / FILE_NAME if path.is_dir() else path


def looks_like_cvat(path: Path) -> bool:
    """An XML file (or a folder with annotations.xml) whose first kilobytes open <annotations> with a <version>."""
    path = _xml_path(Path(path))
    if path.suffix.lower() != ".xml":
        return False
    try:
        with open_input(path) as handle:
            head = handle.read(_HEADER_BYTES)
    except OSError:
        return False
    return b"<annotations" in head and b"<version>" in head


# ---------------------------------------------------------------------------------------------------- reading


def read_cvat(path: Path, images_folder: Path) -> CocoDataset:
    """The objects of a CVAT for images 1.1 file (see the module docstring); FormatError naming what is wrong."""
    xml_path = _xml_path(Path(path))
    source = str(xml_path)
    try:
        if xml_path == Path(path):  # the file the user chose
            data = read_input_bytes(xml_path, MAX_XML_BYTES, what="CVAT annotation file")
        else:  # the folder's annotations.xml, by the rule for files a dataset names
            data = read_inside(InsideCheck(Path(path)), FILE_NAME, MAX_XML_BYTES, "CVAT annotation file")
    except OSError as exc:
        raise FormatError(f"{source}: cannot be read ({exc.strerror or exc})") from None
    document = parse_xml(data, source)
    problems = Problems(source, "CVAT for images 1.1 file")
    if document.tag != "annotations":
        raise FormatError(f"{source}: the root element is <{document.tag}>, not CVAT's <annotations>")
    if document.find("track") is not None:
        raise FormatError(f"{source}: <track> elements are CVAT for video; export the task as CVAT for images 1.1")
    labels, kinds = _labels(document)
    notes: dict[str, int] = {}
    category_names: dict[str, None] = dict.fromkeys(name for name in labels if kinds[name] != "tag")
    base = xml_path.parent / IMAGES if (xml_path.parent / IMAGES).is_dir() else xml_path.parent
    records = []
    names_seen: dict[str, str] = {}
    ids_seen: dict[int, str] = {}
    for i, element in enumerate(document.findall("image")):
        record = _read_image(element, i, labels, problems, notes)
        if record is None:
            continue
        name, image_id = record[0], record[5]
        if name in names_seen:
            problems.add(f"<image>[{i}]", f"name {name!r} is also <image> id {names_seen[name]}")
            continue
        if image_id is not None and image_id in ids_seen:
            problems.add(f"<image>[{i}] ({name})", f"id {image_id} is also <image> {ids_seen[image_id]!r}")
            continue
        names_seen[name] = element.get("id", "?")
        if image_id is not None:
            ids_seen[image_id] = name
        category_names.update(dict.fromkeys(obj[1] for obj in record[3]))
        records.append(record)
    problems.raise_if_any()
    class_names = tuple(category_names)
    index_of = {name: k for k, name in enumerate(class_names)}
    traced = traced_shapes([obj[0] for record in records for obj in record[3] if isinstance(obj[0], dict)])
    images = []
    for name, width, height, objects, tags, image_id in records:
        instances = Instances(
            (height, width),
            class_names=class_names,
            shapes=[next(traced) if isinstance(obj[0], dict) else obj[0] for obj in objects],
            classes=[index_of[obj[1]] for obj in objects],
            provenance=[obj[3] for obj in objects],
            attributes=object_array([obj[2] for obj in objects]),
        )
        extra = {"tags": tags} if tags else {}
        images.append(CocoImage(name_for_folder(base, name, images_folder), width, height, instances, image_id, extra))
    categories = tuple(Category(k + 1, name) for k, name in enumerate(class_names))
    return CocoDataset(categories, images, import_notes=tuple(counted_notes(notes, _NOTES)))


_NOTES = {
    "not_area": ("shape", " that is no area (polyline, points, ellipse, cuboid, skeleton): not read"),
    "groups": ("object", " with a group_id: groups are not kept"),
    "undeclared": ("object", " of labels that <meta> does not declare: added as classes"),
}


def _labels(document: Element) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """The label names declared in <meta> (task, job or project), in order, with each one's attribute input types
    by name, and each one's type."""
    labels: dict[str, dict[str, str]] = {}
    kinds: dict[str, str] = {}
    meta = document.find("meta")
    for group in meta.iter("labels") if meta is not None else ():
        for label in group.findall("label"):
            name = (label.findtext("name") or "").strip()
            if name and name not in kinds:
                kinds[name] = (label.findtext("type") or "any").strip()
                labels[name] = {
                    (spec.findtext("name") or "").strip(): (spec.findtext("input_type") or "text").strip()
                    for spec in label.iter("attribute")
                }
    return labels, kinds


def _read_image(
    element: Element, index: int, labels: dict[str, dict[str, str]], problems: Problems, notes: dict[str, int]
) -> tuple[str, int, int, list, list[str], int | None] | None:
    where = f"<image>[{index}]"
    written = element.get("name", "")
    name = clean_relative(written)
    if name is None:
        problems.add(f"{where} name", f"{short(written)} points outside the images folder")
        return None
    width, height = _int_attr(element, "width"), _int_attr(element, "height")
    if width is None or height is None or width <= 0 or height <= 0:
        problems.add(f"{where} ({name})", "width and height must be positive integers")
        return None
    if width * height > MAX_PIXELS:
        problems.add(
            f"{where} ({name})", f"{width}x{height} pixels, more than the {MAX_PIXELS // 1_000_000} MP supported"
        )
        return None
    image_id = _int_attr(element, "id")
    objects, tags = [], []
    for k, child in enumerate(element):
        at = f"{where} ({name}) <{child.tag}>[{k}]"
        label = child.get("label", "")
        if child.tag == "tag":
            if label:
                tags.append(label)
            continue
        if child.tag in NOT_AREAS:
            tally(notes, "not_area")
            continue
        if child.tag not in ("polygon", "box", "mask"):
            continue
        if not label.strip():
            problems.add(at, "has no label")
            continue
        shape = _shape(child, width, height, at, problems)
        if shape is None:
            continue
        if label not in labels:
            tally(notes, "undeclared")
        if child.get("group_id") not in (None, "", "0"):
            tally(notes, "groups")
        source = child.get("source", "manual")
        provenance = Provenance.AUTO.value if source in ("auto", "semi-auto") else HUMAN_DRAWN
        objects.append((shape, label, _object_attributes(child, labels.get(label, {})), provenance))
    return name, width, height, objects, tags, image_id


def _shape(element: Element, width: int, height: int, at: str, problems: Problems) -> Shape | dict | None:
    if element.tag == "polygon":
        points = _points(element.get("points", ""))
        if points is None or len(points) < 3:
            problems.add(
                at, f"points must be at least 3 'x,y' pairs of finite numbers, got {short(element.get('points'))}"
            )
            return None
        if far_outside(points, width, height):
            problems.add(at, f"points lie more than one image size outside the {width}x{height} image")
            return None
        return Shape((Polygon(points),))
    if element.tag == "box":
        values = [_float_attr(element, key) for key in ("xtl", "ytl", "xbr", "ybr")]
        rotation = _float_attr(element, "rotation") if element.get("rotation") is not None else 0.0
        if any(v is None for v in values) or rotation is None:
            problems.add(at, "xtl, ytl, xbr, ybr (and rotation) must be finite numbers")
            return None
        x1, y1, x2, y2 = (float(v) for v in values)  # type: ignore[arg-type]
        if x2 < x1 or y2 < y1:
            problems.add(at, f"xbr, ybr lie before xtl, ytl ({x1}, {y1}, {x2}, {y2})")
            return None
        corners = _rotated(np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]]), rotation)
        if far_outside(corners, width, height):
            problems.add(at, f"the box lies more than one image size outside the {width}x{height} image")
            return None
        return Shape((Polygon(corners),))
    return _mask_shape(element, width, height, at, problems)


def _mask_shape(element: Element, width: int, height: int, at: str, problems: Problems) -> dict | None:
    """The mask's pixels as the image's COCO RLE (column-major), traced later with the others (`traced_shapes`)."""
    left, top = _int_attr(element, "left"), _int_attr(element, "top")
    box_w, box_h = _int_attr(element, "width"), _int_attr(element, "height")
    if left is None or top is None or box_w is None or box_h is None or box_w <= 0 or box_h <= 0:
        problems.add(at, "left, top must be integers and width, height positive integers")
        return None
    if left < 0 or top < 0 or left + box_w > width or top + box_h > height:
        problems.add(at, f"the {box_w}x{box_h} mask at ({left}, {top}) is not inside the {width}x{height} image")
        return None
    text = element.get("rle", "")
    if not _RUNS.fullmatch(text):
        problems.add(at, f"rle must be comma-separated non-negative integers, got {short(text)}")
        return None
    try:
        runs = np.array(text.split(","), np.int64)
    except OverflowError:
        problems.add(at, f"rle has a run longer than any image, got {short(text)}")
        return None
    if int(runs.sum()) != box_w * box_h:
        problems.add(at, f"rle runs add up to {int(runs.sum())} pixels, the {box_w}x{box_h} box has {box_w * box_h}")
        return None
    values = np.zeros(len(runs), bool)
    values[1::2] = True
    crop = np.repeat(values, runs).reshape(box_h, box_w)
    return _image_rle(crop, left, top, height, width)


def _image_rle(crop: np.ndarray, x0: int, y0: int, height: int, width: int) -> dict:
    """The uncompressed COCO RLE of a height x width image that is `crop` at (x0, y0) and empty elsewhere: as
    `rle_from_crop`, without compressing what `shapes_from_rles` would only decode again."""
    column = crop.shape[0] + 2  # each crop column padded with a clear pixel above and below
    padded = np.zeros((crop.shape[1], column), bool)
    padded[:, 1:-1] = crop.T
    flat = padded.ravel()
    pos = np.flatnonzero(flat[1:] != flat[:-1]) + 1  # alternately the first pixel set, the first clear
    edges = (pos // column + x0) * height + (pos % column - 1 + y0)
    if len(edges) > 2:  # a run going on into the next image column (the crop spans the image's height)
        joined = np.flatnonzero(edges[1:-1:2] == edges[2::2])
        edges = np.delete(edges, np.concatenate([2 * joined + 1, 2 * joined + 2]))
    return {"size": [height, width], "counts": np.diff(edges, prepend=0, append=height * width).tolist()}


def _object_attributes(element: Element, input_types: dict[str, str]) -> dict[str, Any]:
    """{"attributes": {"occluded": bool, name: value, ...}}: CVAT's COCO layout of an object's attributes."""
    values: dict[str, Any] = {"occluded": element.get("occluded", "0") == "1"}
    for attribute in element.findall("attribute"):
        name = attribute.get("name", "")
        if name:
            values[name] = _typed(attribute.text or "", input_types.get(name))
    return {"attributes": values}


def _typed(text: str, input_type: str | None) -> Any:
    """An attribute's text as its label declares it (checkbox: bool, number: int or float, others: the text); an
    undeclared one: 'true'/'false' a bool, else the text."""
    if input_type == "checkbox" or (input_type is None and text in ("true", "false")):
        return text.strip().lower() == "true"
    if input_type == "number":
        if re.fullmatch(r"-?\d{1,18}", text.strip()):
            return int(text)
        try:
            value = float(text)
        except ValueError:
            return text
        return value if math.isfinite(value) else text
    return text


def _points(text: str) -> np.ndarray | None:
    try:
        pairs = [pair.split(",") for pair in text.split(";") if pair.strip()]
        points = np.array([[float(x), float(y)] for x, y in pairs], np.float64).reshape(-1, 2)
    except ValueError:
        return None
    return points if np.isfinite(points).all() else None


def _rotated(corners: np.ndarray, degrees: float) -> np.ndarray:
    """The corners turned clockwise on screen (CVAT's sense, y down) about their centre."""
    if not degrees:
        return corners
    angle = math.radians(degrees)
    centre = corners.mean(axis=0)
    cos, sin = math.cos(angle), math.sin(angle)
    offset = corners - centre
    return centre + np.stack([offset[:, 0] * cos - offset[:, 1] * sin, offset[:, 0] * sin + offset[:, 1] * cos], 1)


def _int_attr(element: Element, key: str) -> int | None:
    text = (element.get(key) or "").strip()
    return int(text) if re.fullmatch(r"-?\d{1,12}", text) else None


def _float_attr(element: Element, key: str) -> float | None:
    try:
        value = float(element.get(key, ""))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


# ---------------------------------------------------------------------------------------------------- writing


def write_cvat(dataset: CocoDataset, out: Path) -> list[str]:
    """Write `dataset` as CVAT for images 1.1: `out` itself when it ends in .xml, else `out`/annotations.xml."""
    out = Path(out)
    target = out if out.suffix.lower() == ".xml" else out / FILE_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    per_label = _attribute_specs(dataset)
    tags = list(dict.fromkeys(t for image in dataset.images for t in _image_tags(image)))
    document = Element("annotations")
    SubElement(document, "version").text = "1.1"
    task = SubElement(SubElement(document, "meta"), "task")
    for key, value in (("id", "0"), ("name", "protolabel export"), ("size", str(len(dataset.images))),
                       ("mode", "annotation"), ("overlap", "0")):  # fmt: skip
        SubElement(task, key).text = value
    labels = SubElement(task, "labels")
    for name in dataset.category_names:
        _label_element(labels, name, "any", per_label.get(name, {}))
    for name in tags:
        if name not in dataset.category_names:
            _label_element(labels, name, "tag", {})
    indent(document)
    # the images as text: ElementTree spent more building and indenting their elements than on everything else
    head = tostring(document, encoding="unicode").removesuffix("</annotations>")
    parts = [_XML_DECLARATION, head]
    for start in range(0, len(dataset.images), _CHUNK):
        chunk = dataset.images[start : start + _CHUNK]
        as_masks = [_mask_objects(image) for image in chunk]
        texts = iter(
            _mask_texts(
                [image.instances.shapes[i] for image, indices in zip(chunk, as_masks) for i in indices],
                [image.instances.image_size for image, indices in zip(chunk, as_masks) for _ in indices],
            )
        )
        for image_id, (image, indices) in enumerate(zip(chunk, as_masks), start):
            masks = {i: next(texts) for i in indices}
            _image_text(parts, image, image_id, dataset.category_names, masks, counts)
    parts.append("</annotations>")
    atomic_write_bytes(target, "".join(parts).encode("utf-8", "xmlcharrefreplace"))
    notes = counted_notes(counts, _WRITE_NOTES)
    return [*notes, "the images are not copied: CVAT and Datumaro look for them in images/ beside annotations.xml"]


_WRITE_NOTES = {
    "masks": ("object", " with holes or several parts written as <mask> (a CVAT polygon holds neither)"),
    "no_pixels": ("object", " with holes or several parts but no pixel inside its image: not written"),
    "crowd": ("crowd region", " written as ordinary objects (CVAT has no crowd flag)"),
    "verified": ("verified object", ' written as source="manual" (CVAT has no verified state)'),
    "attributes": ("attribute value", " not text, a number or true/false: not written"),
}


def _image_tags(image: CocoImage) -> list[str]:
    tags = image.extra.get("tags")
    return [t for t in tags if isinstance(t, str) and t] if isinstance(tags, list) else []


def _attributes_of(value: Any) -> dict[str, Any]:
    inner = value.get("attributes") if isinstance(value, dict) else None
    return inner if isinstance(inner, dict) else {}


def _attribute_specs(dataset: CocoDataset) -> dict[str, dict[str, list[Any]]]:
    """Per label, each attribute name used with it (occluded aside) and its values, in first use."""
    specs: dict[str, dict[str, list[Any]]] = {}
    for image in dataset.images:
        inst = image.instances
        if not inst.has("attributes"):
            continue
        for cls, value in zip(inst.classes.tolist(), inst.attributes.tolist()):
            for name, item in _attributes_of(value).items():
                if name != "occluded" and _writable(item):
                    specs.setdefault(dataset.category_names[cls], {}).setdefault(str(name), []).append(item)
    return specs


def _writable(value: Any) -> bool:
    return isinstance(value, (bool, str)) or (isinstance(value, (int, float)) and math.isfinite(value))


def _label_element(parent: Element, name: str, kind: str, attributes: dict[str, list[Any]]) -> None:
    label = SubElement(parent, "label")
    SubElement(label, "name").text = name
    SubElement(label, "type").text = kind
    specs = SubElement(label, "attributes")
    for attribute, values in attributes.items():
        spec = SubElement(specs, "attribute")
        SubElement(spec, "name").text = attribute
        SubElement(spec, "mutable").text = "False"
        if all(isinstance(v, bool) for v in values):
            input_type, default, choices = "checkbox", "false", "false"
        elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            low, high = math.floor(min(values)), math.ceil(max(values))
            input_type, default, choices = "number", str(low), f"{low};{max(high, low + 1)};1"
        else:
            input_type, default, choices = "text", "", ""
        SubElement(spec, "input_type").text = input_type
        SubElement(spec, "default_value").text = default
        SubElement(spec, "values").text = choices


_CHUNK = 1000  # images whose masks are rasterised in one pass: bounds the pixels held at once


def _mask_objects(image: CocoImage) -> list[int]:
    """The objects of an image written as <mask>: those with holes or several parts."""
    shapes = image.instances.shapes.tolist()
    return [i for i, s in enumerate(shapes) if not s.is_empty() and (s.has_holes or len(_parts(s)) > 1)]


def _image_text(
    parts: list[str],
    image: CocoImage,
    image_id: int,
    names: tuple[str, ...],
    masks: dict[int, tuple[str, int, int, int, int] | None],
    counts: dict[str, int],
) -> None:
    """One <image> element appended to `parts` as ElementTree writes it indented (the tests compare)."""
    image_number = image.id if image.id is not None else image_id
    opening = (
        f'  <image id="{_attr(str(image_number))}" name="{_attr(image.file_name)}" width="{image.width}" '
        f'height="{image.height}"'
    )
    children: list[str] = []
    inst = image.instances
    shapes, classes = inst.shapes.tolist(), inst.classes.tolist()
    attributes: list[Any] = inst.attributes.tolist() if inst.has("attributes") else [None] * len(shapes)
    provenance, crowd = inst.provenance.tolist(), inst.crowd.tolist()
    labels = [_attr(name) for name in names]
    for i, shape in enumerate(shapes):
        if shape.is_empty():
            continue
        if i in masks and masks[i] is None:
            tally(counts, "no_pixels")
            continue
        values = _attributes_of(attributes[i])
        source = "auto" if provenance[i] == Provenance.AUTO.value else "manual"
        occluded = "1" if values.get("occluded") is True else "0"
        common = f'label="{labels[classes[i]]}" source="{source}" occluded="{occluded}"'
        mask = masks.get(i)
        if mask is not None:
            rle, left, top, width, height = mask
            tag = "mask"
            element = (
                f'    <mask {common} rle="{rle}" left="{left}" top="{top}" width="{width}" height="{height}" '
                'z_order="0"'
            )
            tally(counts, "masks")
        else:
            tag = "polygon"
            element = f'    <polygon {common} points="{_points_text(_parts(shape)[0].exterior)}" z_order="0"'
        tally(counts, "crowd", int(crowd[i]))
        tally(counts, "verified", int(provenance[i] == Provenance.VERIFIED.value))
        inner = []
        for name, value in values.items():
            if name == "occluded":
                continue
            if not _writable(value):
                tally(counts, "attributes")
                continue
            text = ("true" if value else "false") if isinstance(value, bool) else str(value)
            opened = f'      <attribute name="{_attr(str(name))}"'
            inner.append(f"{opened}>{_text(text)}</attribute>" if text else f"{opened} />")
        if inner:
            children.append(f"{element}>\n" + "\n".join(inner) + f"\n    </{tag}>")
        else:
            children.append(f"{element} />")
    for tag_name in _image_tags(image):
        children.append(f'    <tag label="{_attr(tag_name)}" source="manual" />')
    if children:
        parts.append(f"{opening}>\n" + "\n".join(children) + "\n  </image>\n")
    else:
        parts.append(f"{opening} />\n")


_XML_DECLARATION = "<?xml version='1.0' encoding='utf-8'?>\n"
_ATTRIBUTE_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;", "\n": "&#10;", "\t": "&#09;"}
)
_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def _attr(value: str) -> str:
    """An attribute value escaped as ElementTree escapes it (newlines and tabs kept as character references)."""
    return value.translate(_ATTRIBUTE_ESCAPES)


def _text(value: str) -> str:
    return value.translate(_TEXT_ESCAPES)


def _parts(shape: Shape) -> list[Polygon]:
    return [p for p in shape.polygons if len(p.exterior) >= 3]


def _points_text(ring: np.ndarray) -> str:
    return ";".join(f"{_number(x)},{_number(y)}" for x, y in ring.tolist())


def _number(value: float) -> str:
    """The shortest text that reads back as the same float (whole pixels without '.0')."""
    return str(int(value)) if value == int(value) else repr(float(value))


def _mask_texts(shapes: list[Shape], sizes: list[tuple[int, int]]) -> list[tuple[str, int, int, int, int] | None]:
    """rle, left, top, width, height of each shape's pixels (COCO's rule) over their box, as CVAT writes a mask;
    None for a shape without pixels. All rasterised in one pass (`shapes_to_runs`): one BoxMasks per image cost
    most of a CVAT export."""
    runs = shapes_to_runs(shapes, sizes)
    out: list[tuple[str, int, int, int, int] | None] = [None] * len(shapes)
    if not runs.owner.size:
        return out
    first = np.flatnonzero(np.diff(runs.owner, prepend=-1))  # runs come shape by shape
    owner = runs.owner[first]
    x0, x1 = np.minimum.reduceat(runs.column, first), np.maximum.reduceat(runs.column, first) + 1
    y0, y1 = np.minimum.reduceat(runs.top, first), np.maximum.reduceat(runs.bottom, first)
    width, height = x1 - x0, y1 - y0
    offset = np.concatenate(([0], np.cumsum(width * height)))
    # every pixel of every run, at its place in its shape's box read row by row
    which = np.repeat(np.arange(len(first)), np.diff(np.append(first, runs.owner.size)))
    length = runs.bottom - runs.top
    run_of = np.repeat(np.arange(length.size), length)
    row = runs.top[run_of] + np.arange(run_of.size) - np.repeat(np.cumsum(length) - length, length)
    box = which[run_of]
    flat = np.zeros(int(offset[-1]), bool)
    flat[offset[box] + (row - y0[box]) * width[box] + runs.column[run_of] - x0[box]] = True
    edges = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    for k, (begin, end) in enumerate(zip(offset[:-1].tolist(), offset[1:].tolist())):
        inner = edges[np.searchsorted(edges, begin, "right") : np.searchsorted(edges, end, "left")]
        lengths = np.diff(np.concatenate(([begin], inner, [end]))).tolist()
        rle = ", ".join(map(str, [0, *lengths] if flat[begin] else lengths))
        out[int(owner[k])] = (rle, int(x0[k]), int(y0[k]), int(width[k]), int(height[k]))
    return out


FORMAT = AnnotationFormat(
    name="cvat", title="CVAT for images 1.1 (XML)", looks_like=looks_like_cvat, read=read_cvat, write=write_cvat
)
