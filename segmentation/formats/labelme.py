"""labelme JSON: one file per image (`shapes`, `imagePath`, `imageHeight`, `imageWidth`, `flags`).

Reading: polygons, rectangles, circles (a polygon of CIRCLE_VERTICES points) and masks are objects; shapes that
share a label and a `group_id` are the parts of one object; lines and points are not areas and are named and left
out. `imagePath` is relative to the JSON file (or absolute) and must lie inside the images folder; `imageData` is
never decoded (the image is the file in the folder), and a file too large to be anything but embedded pixels is
refused before it is parsed. A file with a broken shape is skipped whole and named (so nothing of it half-arrives
and it can be fixed and imported again). The image's `flags` are kept in its `extra`.

Writing: one JSON per image under the output folder (its sub-folder kept), `imageData` null and `imagePath` relative
to the JSON file, each part a polygon; the parts of one object share a `group_id`. labelme polygons cannot cut
holes: those are written filled, and counted in the notes. The image's `flags` are written as given (the project
export makes them of its tags); each shape's `flags` are its object's true/false attributes (labelme reads shape
flags as a dict of names to true/false, as its `--labelflags` checkboxes), other attribute values are counted in
the notes. Read back, shape flags become the object's attributes again.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from protolabel.segmentation.coco.dataset import Category, CocoDataset, CocoImage
from protolabel.segmentation.folders import walk_folder
from protolabel.segmentation.formats._common import (
    FileBatch,
    InsideCheck,
    NamesInside,
    Skipped,
    count,
    distinct_points,
    far_outside,
    object_array,
)
from protolabel.segmentation.formats.base import AnnotationFormat, FormatError
from protolabel.segmentation.geometry.instances import Instances
from protolabel.segmentation.geometry.outlines import DEFAULT_MIN_IOU, crop_to_shape
from protolabel.segmentation.geometry.provenance import HUMAN_DRAWN
from protolabel.segmentation.geometry.shapes import Polygon, Shape
from protolabel.segmentation.images import MAX_PIXELS
from protolabel.segmentation.input_files import InputTooLargeError, open_input, read_input_bytes

# A labelme file without its image is kilobytes; with `imageData` a 24 MP JPEG in base64 is ~15 MB. Above this the
# file is refused unread: it can only be embedded pixels, which the import never needs.
MAX_LABELME_BYTES = 64 << 20
MAX_FILES = 1_000_000
CIRCLE_VERTICES = 64
LABELME_VERSION = "5.5.0"  # the file layout written (labelme 4 and 5 open it)
AREA_TYPES = frozenset({"polygon", "rectangle", "circle", "mask"})
HEAD_BYTES = 4096


def looks_like(path: Path) -> bool:
    """A JSON file with labelme's `shapes` and `imagePath`, or a folder holding such files at its top."""
    if path.is_file():
        return path.suffix.lower() == ".json" and _is_labelme_head(path)
    if path.is_dir():
        with os.scandir(path) as entries:
            candidates = [Path(e.path) for e in entries if e.name.lower().endswith(".json") and e.is_file()]
        return any(_is_labelme_head(p) for p in sorted(candidates)[:5])
    return False


def _is_labelme_head(path: Path) -> bool:
    with open_input(path) as handle:
        head = handle.read(HEAD_BYTES)
    return b'"shapes"' in head and (b'"imagePath"' in head or b'"version"' in head) and b'"annotations"' not in head


def read(path: Path, images_folder: Path) -> CocoDataset:
    """The labelme file, or every labelme file under a folder, as a dataset; images named relative to
    `images_folder`. FormatError when there is no labelme file at all."""
    files = _json_files(path)
    if not files:
        raise FormatError(f"{path}: no labelme .json files there")
    skipped = Skipped()
    notes: list[str] = []
    labels: dict[str, None] = {}
    per_image: list[tuple[str, int, int, list[tuple[str, Shape, str, dict | None]], dict]] = []
    names: dict[str, str] = {}
    circles = not_areas = 0
    inside = InsideCheck(path) if path.is_dir() else None
    names_inside = NamesInside(images_folder)
    for file, relative in files:
        where = file
        if inside is not None and not inside(relative):
            skipped.add(where, "a link that leads outside the folder")  # never read: not what the user chose
            continue
        try:
            data = _load(file)
            entry = _read_file(file, data, names_inside)
        except _Skip as exc:
            skipped.add(where, exc.reason)
            continue
        name, width, height, objects, extra, file_circles = entry
        if name in names:
            skipped.add(where, f"its image is already annotated by {names[name]}")
            continue
        names[name] = where
        circles += file_circles[0]
        not_areas += file_circles[1]
        for label, *_ in objects:
            labels[label] = None
        per_image.append((name, width, height, objects, extra))
    class_names = tuple(labels)
    categories = tuple(Category(i + 1, label) for i, label in enumerate(class_names))
    index = {label: i for i, label in enumerate(class_names)}
    images = []
    for name, width, height, objects, extra in per_image:
        instances = Instances(
            (height, width),
            class_names=class_names,
            shapes=[o[1] for o in objects],
            classes=[index[o[0]] for o in objects],
            provenance=[o[2] for o in objects],
            attributes=object_array([o[3] for o in objects]),
        )
        images.append(CocoImage(name, width, height, instances, extra=extra))
    if circles:
        notes.append(f"{count(circles, 'circle')} became polygons of {CIRCLE_VERTICES} points")
    if not_areas:
        notes.append(f"{count(not_areas, 'line or point shape')} left out: they mark no area")
    notes.extend(skipped.lines("labelme file"))
    return CocoDataset(categories, images, import_notes=tuple(notes))


class _Skip(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _json_files(path: Path) -> list[tuple[str, str]]:
    """(path, name relative to `path`) of each labelme file; paths joined as text: a Path per file cost more than
    the checks made on it."""
    if path.is_file():
        return [(str(path), path.name)]
    base = str(path)
    walk = walk_folder(path, keep=lambda name: name.lower().endswith(".json"))
    return [(os.path.join(base, name), name) for name in walk.names[:MAX_FILES]]


def _load(file: str) -> Any:
    try:
        raw = read_input_bytes(file, MAX_LABELME_BYTES, what="labelme file")
    except InputTooLargeError:
        raise _Skip(
            f"larger than {MAX_LABELME_BYTES >> 20} MB (embedded imageData is not read; save the file without it)"
        ) from None
    except OSError as exc:
        raise _Skip(f"cannot be read ({exc.strerror or exc})") from None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        try:
            return json.loads(raw.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            raise _Skip(f"not valid JSON ({str(exc).split(':')[0]})") from None


_FileEntry = tuple[str, int, int, list[tuple[str, Shape, str, dict | None]], dict[str, Any], tuple[int, int]]


def _read_file(file: str, data: Any, names_inside: NamesInside) -> _FileEntry:
    """(image name, width, height, objects, image extra, (circles, lines and points)) of one labelme file."""
    if not isinstance(data, dict) or not isinstance(data.get("shapes"), list):
        raise _Skip("not a labelme file (no `shapes` list)")
    image_path = data.get("imagePath")
    if not isinstance(image_path, str) or not image_path.strip():
        raise _Skip("no imagePath (an image only embedded in imageData is not imported)")
    written = image_path.replace("\\", "/")
    windows_drive = len(written) > 2 and written[1] == ":" and written[2] == "/"  # C:/... read on Linux
    name = None if windows_drive or "\0" in written else names_inside(os.path.join(os.path.dirname(file), written))
    if name is None:
        raise _Skip(f"imagePath {_short(image_path)} lies outside {names_inside.folder}")
    given_width: Any = data.get("imageWidth")
    given_height: Any = data.get("imageHeight")
    if not (_is_int(given_width) and _is_int(given_height) and given_width > 0 and given_height > 0):
        raise _Skip(f"imageWidth/imageHeight are not positive integers ({_short(given_width)}x{_short(given_height)})")
    width, height = int(given_width), int(given_height)
    if width * height > MAX_PIXELS:
        raise _Skip(f"image is {width}x{height} pixels, more than the {MAX_PIXELS // 1_000_000} MP supported")
    parts: dict[tuple[str, Any], list[Polygon]] = {}
    attributes: dict[tuple[str, Any], dict | None] = {}
    circles = not_areas = 0
    for i, shape in enumerate(data["shapes"]):
        where = f"shape {i}"
        if not isinstance(shape, dict):
            raise _Skip(f"{where}: not an object")
        label, kind = shape.get("label"), shape.get("shape_type") or "polygon"
        if not isinstance(label, str) or not label.strip():
            raise _Skip(f"{where}: no label")
        if kind not in AREA_TYPES:
            not_areas += 1  # lines and points mark no area
            continue
        polygons = _polygons(shape, kind, where, width, height)
        circles += kind == "circle"
        group = shape.get("group_id")
        if not (group is None or _is_int(group)):
            raise _Skip(f"{where}: group_id must be an integer or null, got {_short(group)}")
        key = (label.strip(), i if group is None else ("group", group))  # ungrouped shapes stand alone
        parts.setdefault(key, []).extend(polygons)
        flags = shape.get("flags")
        if isinstance(flags, dict) and flags and key not in attributes:
            attributes[key] = {"flags": flags}
    objects = [
        (label, Shape(tuple(polys)), HUMAN_DRAWN, attributes.get((label, k))) for (label, k), polys in parts.items()
    ]
    extra: dict[str, Any] = {}
    flags = data.get("flags")
    if isinstance(flags, dict) and flags:
        extra["flags"] = dict(flags)
    return name, width, height, objects, extra, (circles, not_areas)


def _polygons(shape: dict, kind: str, where: str, width: int, height: int) -> list[Polygon]:
    points = _points(shape.get("points"), where)
    if far_outside(points, width, height):
        raise _Skip(f"{where}: points lie more than one image size outside the {width}x{height} image")
    if kind == "polygon":
        if distinct_points(points) < 3:
            raise _Skip(f"{where}: a polygon needs at least 3 distinct points")
        return [Polygon(points)]
    if kind == "rectangle":
        if len(points) != 2:
            raise _Skip(f"{where}: a rectangle has 2 points, got {len(points)}")
        (x1, y1), (x2, y2) = points.min(axis=0), points.max(axis=0)
        if x2 <= x1 or y2 <= y1:
            raise _Skip(f"{where}: the rectangle has no area")
        return [Polygon(np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]]))]
    if kind == "circle":
        if len(points) != 2:
            raise _Skip(f"{where}: a circle has 2 points (centre, edge), got {len(points)}")
        centre = points[0]
        radius = float(np.hypot(*(points[1] - points[0])))
        if radius <= 0:
            raise _Skip(f"{where}: the circle has no area")
        angles = np.linspace(0, 2 * math.pi, CIRCLE_VERTICES, endpoint=False)
        return [Polygon(centre + radius * np.stack([np.cos(angles), np.sin(angles)], axis=1))]
    return _mask_polygons(shape, points, where, width, height)


def _mask_polygons(shape: dict, points: np.ndarray, where: str, width: int, height: int) -> list[Polygon]:
    """labelme 5.3+'s mask shape: a PNG of the box between its two points, traced to its pixel outline."""
    import base64

    import cv2

    encoded = shape.get("mask")
    if not isinstance(encoded, str) or len(points) != 2:
        raise _Skip(f"{where}: a mask shape needs `mask` (base64 PNG) and 2 points")
    try:
        data = np.frombuffer(base64.b64decode(encoded, validate=True), np.uint8)
        crop = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)
    except (ValueError, cv2.error):
        crop = None
    if crop is None:
        raise _Skip(f"{where}: its mask is not a base64 PNG")
    x0, y0 = (int(v) for v in np.floor(points.min(axis=0)))
    if crop.shape[0] * crop.shape[1] > width * height or x0 < 0 or y0 < 0:
        raise _Skip(f"{where}: its mask does not fit the {width}x{height} image")
    pixels = crop[: height - y0, : width - x0] > 0
    traced = crop_to_shape(pixels, x0, y0, 0.0, 0.0, DEFAULT_MIN_IOU)
    if traced.is_empty():
        raise _Skip(f"{where}: its mask is empty")
    return list(traced.polygons)


def _points(value: Any, where: str) -> np.ndarray:
    try:
        points = np.asarray(value, dtype=np.float64)
    except (ValueError, TypeError):
        raise _Skip(f"{where}: points must be a list of [x, y] numbers") from None
    if points.ndim != 2 or points.shape[1] != 2 or not len(points) or not np.isfinite(points).all():
        raise _Skip(f"{where}: points must be a list of [x, y] numbers")
    return points


def write(dataset: CocoDataset, out: Path) -> list[str]:
    """One labelme JSON per image under `out`; notes count the holes filled and images written without a path."""
    holes = unknown = dropped = 0
    with FileBatch(out) as files:
        for image in dataset.images:
            target = out / (os.path.splitext(image.file_name)[0] + ".json")
            if image.source_name and os.path.isabs(image.source_name):
                image_path = os.path.relpath(image.source_name, target.parent)
            else:  # where the image is, is not known: the name as if the JSON lay beside it
                image_path = Path(image.file_name).name
                unknown += 1
            shapes, image_holes, image_dropped = _shapes(image.instances)
            holes, dropped = holes + image_holes, dropped + image_dropped
            flags = image.extra.get("flags")
            record = {
                "version": LABELME_VERSION,
                "flags": dict(flags) if isinstance(flags, dict) else {},
                "shapes": shapes,
                "imagePath": Path(image_path).as_posix(),
                "imageData": None,
                "imageHeight": image.height,
                "imageWidth": image.width,
            }
            files.write_bytes(target, orjson.dumps(record, option=orjson.OPT_INDENT_2))
    notes = []
    if holes:
        notes.append(f"{count(holes, 'object')} with holes written filled: labelme polygons cannot cut holes")
    if unknown:
        notes.append(f"{count(unknown, 'image')} whose file is not known: imagePath is the bare file name")
    if dropped:
        notes.append(
            f"{count(dropped, 'attribute value')} not true/false left out: labelme's shape flags are checkboxes"
        )
    return notes


def _shapes(inst: Instances) -> tuple[list[dict[str, Any]], int, int]:
    """labelme's shapes of one image's objects (a polygon per part, the parts of one object sharing a group_id and
    its flags), how many objects had holes (left out) and how many attribute values are no flag (left out)."""
    shapes, holes, dropped = [], 0, 0
    attributes = inst.attributes.tolist() if inst.has("attributes") else [None] * len(inst)
    for number, (shape, cls, value) in enumerate(zip(inst.shapes.tolist(), inst.classes.tolist(), attributes), 1):
        parts = [p for p in shape.polygons if len(p.exterior) >= 3]
        holes += shape.has_holes
        flags, object_dropped = _shape_flags(value)
        dropped += object_dropped
        for polygon in parts:
            shapes.append(
                {
                    "label": inst.class_names[cls],
                    "points": polygon.exterior.tolist(),
                    "group_id": number if len(parts) > 1 else None,
                    "description": "",
                    "shape_type": "polygon",
                    "flags": dict(flags),
                    "mask": None,
                }
            )
    return shapes, holes, dropped


def _shape_flags(value: Any) -> tuple[dict[str, bool], int]:
    """An object's checkbox attributes as labelme shape flags (labelme loads only a dict of str to bool there),
    and how many of its other attribute values are left out."""
    inner = value.get("attributes") if isinstance(value, dict) else None
    if not isinstance(inner, dict):
        return {}, 0
    flags = {str(name): item for name, item in inner.items() if isinstance(item, bool)}
    return flags, len(inner) - len(flags)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


FORMAT = AnnotationFormat("labelme", "labelme JSON (one file per image)", looks_like, read, write, writes_folder=True)
