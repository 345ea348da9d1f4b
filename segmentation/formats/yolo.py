"""YOLO segmentation as Ultralytics trains on it: `data.yaml` (class `names`) beside `images/` and `labels/`.

A label file holds one object per line, `class x1 y1 x2 y2 ...`, the vertices divided by the image's width and
height (0..1). Ultralytics finds an image's label file by replacing the last `/images/` of its path with
`/labels/` and its extension with `.txt`; both layouts in use (images/train/..., train/images/...) follow that
rule, and so does this module.

Reading: every image under the dataset folder with an `images` folder in its path, with its label file (no file:
no objects). Each bad line (a non-number, an odd number of coordinates, a value outside 0..1, a class not in
`names`) is named by file:line and its image skipped whole, so nothing half-arrives. A line of exactly 4 numbers
after the class is YOLO detection's box (centre x, centre y, width, height) and is read as a rectangle.
`train`/`val`/`test` and `path` in data.yaml are not followed (they may point anywhere): the images are those
inside the dataset folder.

Writing: `images/` (each image hard-linked, or copied, from the project), `labels/`, and data.yaml whose `train`
and `val` both name `images`. Like Ultralytics' own COCO converter, the parts of a multi-part object are joined
into one polygon by a there-and-back seam between their closest vertices, and holes are dropped (a polygon per
line cannot cut one); both are counted in the notes.
"""

from __future__ import annotations

import itertools
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from protolabel.segmentation.coco.dataset import Category, CocoDataset, CocoImage
from protolabel.segmentation.folders import is_image_name, walk_folder
from protolabel.segmentation.formats._common import (
    FileBatch,
    InsideCheck,
    NamesInside,
    Skipped,
    count,
    image_size,
    read_inside,
)
from protolabel.segmentation.formats.base import AnnotationFormat, FormatError
from protolabel.segmentation.geometry.instances import Instances
from protolabel.segmentation.geometry.provenance import HUMAN_DRAWN
from protolabel.segmentation.geometry.shapes import Polygon, Shape
from protolabel.segmentation.images import ImageReadError
from protolabel.segmentation.input_files import read_input_bytes

DATA_FILE = "data.yaml"
MAX_YAML_BYTES = 1 << 20  # class names: kilobytes
MAX_LABEL_BYTES = 64 << 20  # one image's objects


def looks_like(path: Path) -> bool:
    """A data.yaml, or a folder with one and a `labels` folder."""
    if path.is_file():
        return path.name.lower() in (DATA_FILE, "data.yml")
    return path.is_dir() and (path / DATA_FILE).is_file()


def read(path: Path, images_folder: Path) -> CocoDataset:
    """The YOLO dataset at `path` (its folder or its data.yaml); images named relative to `images_folder` when
    they lie in it, else relative to their `images` folder (an export read back matches the project's names)."""
    root = path.parent if path.is_file() else path
    inside = InsideCheck(root)
    names = _class_names(path, inside if path.is_dir() else None)
    walk = walk_folder(root, keep=lambda name: is_image_name(name) or name.lower().endswith(".txt"))
    label_files = {n for n in walk.names if n.lower().endswith(".txt") and "labels" in n.split("/")[:-1]}
    skipped = Skipped()
    seen: dict[str, str] = {}
    boxes = 0
    images = []
    categories = tuple(Category(i + 1, name) for i, name in enumerate(names))
    names_inside = NamesInside(images_folder)
    base = os.fspath(root)  # paths joined as text: a Path per file cost more than reading its label file
    for relative in walk.names:
        parts = relative.split("/")
        if "images" not in parts[:-1] or not is_image_name(parts[-1]):
            continue
        cut = len(parts) - 1 - parts[:-1][::-1].index("images") - 1  # the last `images` folder
        label_rel = "/".join([*parts[:cut], "labels", *parts[cut + 1 :]])
        label_rel = os.path.splitext(label_rel)[0] + ".txt"
        label_files.discard(label_rel)
        image_path = os.path.join(base, relative)
        if not (inside(relative) and inside(label_rel)):
            skipped.add(relative, "its image or label file is a link that leads outside the folder")
            continue
        name = names_inside(image_path) or "/".join(parts[cut + 1 :])
        if name in seen:
            skipped.add(relative, f"another image has the same name ({seen[name]})")
            continue
        try:
            width, height = image_size(image_path)
        except ImageReadError as exc:
            skipped.add(relative, f"unreadable image ({str(exc).split(': ', 1)[-1]})")
            continue
        try:
            objects, image_boxes = _read_labels(os.path.join(base, label_rel), label_rel, len(names), width, height)
        except _BadLine as exc:
            skipped.add(exc.where, exc.reason)
            continue
        seen[name] = relative
        boxes += image_boxes
        instances = Instances(
            (height, width),
            class_names=names,
            shapes=[shape for _, shape in objects],
            classes=[cls for cls, _ in objects],
            provenance=HUMAN_DRAWN,
        )
        images.append(CocoImage(name, width, height, instances))
    if not images and not skipped:
        raise FormatError(f"{root}: no images in an `images` folder there")
    notes = []
    if boxes:
        notes.append(f"{count(boxes, 'line')} of 4 numbers read as boxes (centre x, centre y, width, height)")
    notes.extend(skipped.lines("image"))
    if label_files:
        orphans = sorted(label_files)
        more = f", ... and {len(orphans) - 10} more" if len(orphans) > 10 else ""
        notes.append(f"{count(len(orphans), 'label file')} without an image, not read: {', '.join(orphans[:10])}{more}")
    notes.extend(walk.report_lines())
    return CocoDataset(categories, images, import_notes=tuple(notes))


class _BadLine(Exception):
    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where, self.reason = where, reason


def _class_names(path: Path, inside: InsideCheck | None) -> tuple[str, ...]:
    """data.yaml's `names` (a list, or a mapping of 0..N-1 to names); FormatError naming what is wrong. `path` is
    the data.yaml the user chose, or (with `inside`) the folder whose data.yaml is read by the rule for files a
    dataset names."""
    data_file = path / DATA_FILE if inside is not None else path
    try:
        if inside is not None:
            raw = read_inside(inside, DATA_FILE, MAX_YAML_BYTES, "data.yaml")
        else:
            raw = read_input_bytes(data_file, MAX_YAML_BYTES, what="data.yaml")
        text = raw.decode("utf-8-sig")
        data = yaml.safe_load(text)
    except FileNotFoundError:
        raise FormatError(f"{data_file}: missing; a YOLO dataset names its classes there") from None
    except UnicodeDecodeError:
        raise FormatError(f"{data_file}: not UTF-8 text") from None
    except yaml.YAMLError as exc:
        raise FormatError(f"{data_file}: not valid YAML ({str(exc).splitlines()[0]})") from None
    except OSError as exc:
        raise FormatError(f"{data_file}: cannot be read ({exc.strerror or exc})") from None
    names: Any = data.get("names") if isinstance(data, dict) else None
    if isinstance(names, dict):
        keys = sorted(names, key=lambda k: k if isinstance(k, int) else -1)
        if keys != list(range(len(names))):
            raise FormatError(f"{data_file}: `names` must number the classes 0..{len(names) - 1}, got {keys[:10]}")
        names = [names[k] for k in keys]
    if not isinstance(names, list) or not names:
        raise FormatError(f"{data_file}: `names` must list the class names")
    out = tuple(str(n).strip() for n in names)
    if any(not n for n in out) or len(set(out)) != len(out):
        raise FormatError(f"{data_file}: class names must be non-empty and different, got {list(out)[:20]}")
    return out


def _read_labels(path: str, shown: str, classes: int, width: int, height: int) -> tuple[list[tuple[int, Shape]], int]:
    """(class, shape) per line of one label file, and how many lines were boxes; _BadLine at the first bad one."""
    try:
        raw = read_input_bytes(path, MAX_LABEL_BYTES, what="label file")
    except FileNotFoundError:
        return [], 0  # no label file: an image without objects, as Ultralytics reads it
    except OSError as exc:
        raise _BadLine(shown, f"cannot be read ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _BadLine(shown, "not UTF-8 text") from None
    lines: list[tuple[int, np.ndarray | int]] = []  # (class, a box's corners or a polygon's vertex count)
    polygon_values: list[float] = []
    boxes = 0
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        try:
            values = [float(v) for v in fields[1:]]
            cls = int(fields[0])
        except ValueError:
            raise _BadLine(f"{shown}:{number}", "not a class number followed by numbers") from None
        if not 0 <= cls < classes:
            raise _BadLine(f"{shown}:{number}", f"class {cls} is not in data.yaml's names (0..{classes - 1})")
        if len(values) % 2 or len(values) < 4:
            raise _BadLine(
                f"{shown}:{number}", f"{len(values)} coordinates: polygons need x y pairs, at least 3 of them"
            )
        # a NaN passes min and max unseen, not the sum
        if not (0.0 <= min(values) and max(values) <= 1.0) or math.isnan(math.fsum(values)):
            raise _BadLine(f"{shown}:{number}", "coordinates must be normalised to 0..1")
        if len(values) == 4:  # detection's centre x, centre y, width, height
            cx, cy, w, h = values[0] * width, values[1] * height, values[2] * width, values[3] * height
            if w <= 0 or h <= 0:
                raise _BadLine(f"{shown}:{number}", "a box with no area")
            x1, y1, x2, y2 = cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2
            lines.append((cls, np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]])))
            boxes += 1
        else:
            if len(set(zip(values[0::2], values[1::2]))) < 3:
                raise _BadLine(f"{shown}:{number}", "fewer than 3 distinct points")
            lines.append((cls, len(values) // 2))
            polygon_values.extend(values)
    # one array and one scaling for the file's polygons: per line, numpy's call cost more than the work
    vertices = np.array(polygon_values, np.float64).reshape(-1, 2) * np.array([width, height], np.float64)
    objects, start = [], 0
    for cls, corners_or_count in lines:
        if isinstance(corners_or_count, int):
            points, start = vertices[start : start + corners_or_count], start + corners_or_count
        else:
            points = corners_or_count
        objects.append((cls, Shape((Polygon(points),))))
    return objects, boxes


def write(dataset: CocoDataset, out: Path) -> list[str]:
    """images/, labels/ and data.yaml under `out`; notes count joined parts, dropped holes, images not placed."""
    joined = holes = missing = 0
    taken: dict[str, str] = {}
    clashes: list[str] = []
    with FileBatch(out) as files:
        for image in dataset.images:
            image_joined, image_holes, placed = _write_image(files, image, out, taken, clashes)
            joined, holes, missing = joined + image_joined, holes + image_holes, missing + (not placed)
        names = {i: c.name for i, c in enumerate(dataset.categories)}
        data = {"train": "images", "val": "images", "nc": len(names), "names": names}
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
        files.write_bytes(out / DATA_FILE, text.encode("utf-8"))
    missing += len(files.unplaced)
    notes = []
    if joined:
        notes.append(
            f"{count(joined, 'object')} of several parts joined into one polygon by a seam between the parts, "
            "as Ultralytics' own converter does"
        )
    if holes:
        notes.append(f"{count(holes, 'object')} with holes written filled: a YOLO polygon cannot cut holes")
    if missing:
        notes.append(f"{count(missing, 'image')} not placed in images/: their files are not known")
    if clashes:
        notes.append(
            f"{count(len(clashes), 'image')} left out: another image of the same name but another extension "
            f"takes its label file: {', '.join(clashes[:10])}"
        )
    return notes


def _write_image(
    files: FileBatch, image: CocoImage, out: Path, taken: dict[str, str], clashes: list[str]
) -> tuple[int, int, bool]:
    """One image placed in images/ and its label file written: (objects joined, objects with holes, placed)."""
    label_name = os.path.splitext(image.file_name)[0] + ".txt"
    if label_name in taken:  # a.jpg and a.png share labels/a.txt in Ultralytics' rule
        clashes.append(image.file_name)
        return 0, 0, True
    taken[label_name] = image.file_name
    image_target = os.path.join(out, "images", image.file_name)  # as text: a Path per image cost a tenth
    source = image.source_name
    placed = bool(source and os.path.isabs(source))  # a source that is not a file: counted by the batch
    if placed:
        files.place_image(str(source), image_target)
    joined = holes = 0
    inst = image.instances
    classes, walks = [], []
    for shape, cls in zip(inst.shapes.tolist(), inst.classes.tolist()):
        rings = [p.exterior for p in shape.polygons if len(p.exterior) >= 3]
        if not rings:
            continue
        holes += shape.has_holes
        joined += len(rings) > 1
        classes.append(cls)
        walks.append(join_parts(rings))
    lines = []
    if walks:  # one division and clip for the image's objects: per object, numpy's call cost more than the work
        scale = np.array([image.width, image.height], np.float64)
        values = np.clip(np.concatenate(walks) / scale, 0.0, 1.0).ravel().tolist()
        start = 0
        for cls, walk in zip(classes, walks):
            end = start + 2 * len(walk)
            # shortest exact form of each float (not Ultralytics' 6 decimals): read back, the pixels are the same
            lines.append(f"{cls} {' '.join(map(repr, values[start:end]))}\n")
            start = end
    files.write_bytes(_label_path(image_target), "".join(lines).encode("utf-8"))
    return joined, holes, placed


def _label_path(image_path: str) -> str:
    """Ultralytics' rule: the last `/images/` of the image's path becomes `/labels/`, the extension `.txt`."""
    head, sep, tail = image_path.rpartition(f"{os.sep}images{os.sep}")
    return os.path.splitext(f"{head}{os.sep}labels{os.sep}{tail}" if sep else image_path)[0] + ".txt"


def join_parts(rings: list[np.ndarray]) -> np.ndarray:
    """One ring through all `rings`: each joined to the next at their closest vertices by a seam walked there and
    back (zero area), so filling it fills every part."""
    if len(rings) == 1:
        return rings[0]
    # entry[j]: where ring j is entered from ring j-1; exit[j]: where it leaves for ring j+1
    entry, exit_ = [0] * len(rings), [0] * len(rings)
    for j in range(len(rings) - 1):
        exit_[j], entry[j + 1] = _closest_pair(rings[j], rings[j + 1])
    # the walk as indices into the rings laid end to end: ring j from its entry to its exit, the rings after it,
    # then back from its exit round to its entry; the last ring whole, from its entry back to it
    starts = list(itertools.accumulate((len(r) for r in rings), initial=0))
    last = len(rings) - 1
    middle = _cyclic(starts[last], len(rings[last]), entry[last], len(rings[last]) + 1)
    forward: list[int] = []
    back: list[int] = []
    for j in range(last - 1, -1, -1):
        size = len(rings[j])
        steps = (exit_[j] - entry[j]) % size
        forward = _cyclic(starts[j], size, entry[j], steps + 1) + forward
        back += _cyclic(starts[j], size, exit_[j], size - steps + 1)
    order = forward + middle + back
    return np.concatenate(rings)[order[:-1]]  # open ring: the first vertex is not repeated


def _closest_pair(a: np.ndarray, b: np.ndarray) -> tuple[int, int]:
    """(i, k) with a[i] and b[k] closest, the first such pair in row-major order (numpy's argmin)."""
    if len(a) * len(b) > SMALL_PAIRS:
        offsets = a[:, None, :] - b[None, :, :]
        return divmod(int((offsets * offsets).sum(axis=2).argmin()), len(b))
    best, pair = math.inf, (0, 0)
    points = b.tolist()
    for i, (ax, ay) in enumerate(a.tolist()):
        for k, (bx, by) in enumerate(points):
            distance = (ax - bx) * (ax - bx) + (ay - by) * (ay - by)
            if distance != distance:  # NaN: argmin stops at the first
                return i, k
            if distance < best:
                best, pair = distance, (i, k)
    return pair


SMALL_PAIRS = 400  # vertex pairs below which a Python loop beats numpy's call overhead


def _cyclic(offset: int, size: int, start: int, length: int) -> list[int]:
    """`length` indices round a ring of `size` vertices from `start` (wrapping, any number of times), plus
    `offset`."""
    return [offset + (start + k) % size for k in range(length)]


FORMAT = AnnotationFormat("yolo", "YOLO segmentation (Ultralytics)", looks_like, read, write, writes_folder=True)
