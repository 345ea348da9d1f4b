"""Reading COCO instance files from our export and from other tools (CVAT, labelme, Roboflow, ...).

Accepted: polygon lists, RLE (compressed or not) with iscrowd 0 or 1, bbox-only annotations
(read as rectangles), categories with any positive ids. A file that is not usable raises
`CocoFormatError` whose message names the first problems by JSON path; reading never
changes anything on disk.
"""

from __future__ import annotations

import codecs
import json
import math
import os
from collections.abc import Mapping
from concurrent.futures import Executor, Future
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from protolabel.segmentation.coco.dataset import Category, CocoDataset, CocoImage
from protolabel.segmentation.coco.export import STANDARD_ANNOTATION_KEYS, STANDARD_IMAGE_KEYS, gc_paused
from protolabel.segmentation.geometry.coco_shapes import shapes_from_rles
from protolabel.segmentation.geometry.instances import Instances
from protolabel.segmentation.geometry.provenance import HUMAN_DRAWN, PROVENANCE_OF
from protolabel.segmentation.geometry.shapes import Polygon, Shape
from protolabel.segmentation.images import MAX_PIXELS
from protolabel.segmentation.input_files import read_input_bytes

MAX_REPORTED = 10  # problems named in the error message
# The largest label file read. COCO's own train2017 instances file, the largest in common use, is 448 MB;
# parsing takes several times a file's size in memory, so a larger one is refused before it is read.
MAX_COCO_BYTES = 2 << 30
MAX_COLLECTED = 50  # stop checking after this many
BACKGROUND_NAMES = frozenset({"background", "_background_", "__background__", "__ignore__", "bg"})
_FAR_OUTSIDE = "coordinates lie more than one image size outside the {width}x{height} image"


class CocoFormatError(ValueError):
    """The file is not a usable COCO file; `problems` lists (json_path, message) pairs."""

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = source
        self.problems = problems
        shown = "\n".join(f"  {path}: {message}" for path, message in problems[:MAX_REPORTED])
        more = len(problems) - MAX_REPORTED
        tail = f"\n  ... and {more} more" if more > 0 else ""
        super().__init__(f"{source}: not a usable COCO file:\n{shown}{tail}")


class _Problems:
    def __init__(self, source: str) -> None:
        self.source = source
        self.items: list[tuple[str, str]] = []

    def add(self, path: str, message: str) -> None:
        self.items.append((path, message))
        if len(self.items) >= MAX_COLLECTED:
            raise CocoFormatError(self.source, self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise CocoFormatError(self.source, self.items)


def read_coco(path: str | os.PathLike, executor: Executor | None = None) -> CocoDataset:
    """Read a COCO file; raises CocoFormatError (problems named by JSON path) or OSError (including
    input_files' errors for a FIFO, a device or a file over MAX_COCO_BYTES).

    `executor`: where RLE masks are traced, batch by batch while the rest is read (a process pool
    takes that work off this process); default here, at the end."""
    path = Path(path)
    raw = read_input_bytes(path, MAX_COCO_BYTES, what="COCO file")
    # One collector pause for parsing and checking, the parsed JSON freed inside it: a pause that ends
    # while millions of new objects are alive makes the collector scan them all at once.
    with gc_paused():
        try:
            data = _load_json(raw, str(path))
        except RecursionError:  # e.g. 100,000 nested '[': no COCO file nests more than a few levels
            raise CocoFormatError(str(path), [("$", "lists or objects nested too deeply to be COCO data")]) from None
        del raw
        dataset = parse_coco(data, source=str(path), executor=executor)
        del data
    return dataset


def _load_json(raw: bytes, source: str) -> Any:
    """The parsed JSON of a file's bytes (a UTF-8 byte order mark is allowed).

    orjson parses a large label file about twice as fast as the json module. Whatever it refuses
    (invalid JSON or UTF-8, NaN and Infinity as Python writes them, integers beyond 64 bits, deep
    nesting) is parsed again by the json module, which accepts what it accepts and names the problem."""
    body = raw[len(codecs.BOM_UTF8) :] if raw.startswith(codecs.BOM_UTF8) else raw
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CocoFormatError(source, [("$", f"not UTF-8 text ({exc.reason} at byte {exc.start})")]) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CocoFormatError(
            source, [("$", f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")]
        ) from None


def parse_coco(data: Any, *, source: str = "<COCO data>", executor: Executor | None = None) -> CocoDataset:
    """A CocoDataset from parsed COCO JSON; raises CocoFormatError naming the first problems.
    `executor` as for read_coco."""
    try:
        with gc_paused():
            return _parse_coco(data, source, executor)
    except RecursionError:  # hostile nesting inside a value that is compared or copied
        raise CocoFormatError(source, [("$", "lists or objects nested too deeply to be COCO data")]) from None


def _parse_coco(data: Any, source: str, executor: Executor | None) -> CocoDataset:
    problems = _Problems(source)
    if not isinstance(data, Mapping):
        problems.add("$", f"expected a JSON object, got {_kind(data)}")
        problems.raise_if_any()
    for key in ("images", "categories"):
        if key not in data:
            problems.add("$", f"missing required key {key!r}")
        elif not isinstance(data[key], list):
            problems.add(f"$.{key}", f"expected a list, got {_kind(data[key])}")
    annotations = data.get("annotations", [])
    if not isinstance(annotations, list):
        problems.add("$.annotations", f"expected a list, got {_kind(annotations)}")
    problems.raise_if_any()

    categories = _read_categories(data["categories"], problems)
    images = _read_images(data["images"], problems)
    problems.raise_if_any()
    per_image = _read_annotations(annotations, images, categories, problems, executor)
    problems.raise_if_any()

    notes: list[str] = []
    used = {record[1] for anns in per_image.values() for record in anns}
    kept_categories = []
    for cat in categories.values():
        if cat.id not in used and (cat.id < 1 or cat.name.strip().lower() in BACKGROUND_NAMES):
            notes.append(f"dropped unused category {cat.name!r} (id {cat.id}): COCO has no background class")
            continue
        kept_categories.append(cat)
    index_of = {cat.id: i for i, cat in enumerate(kept_categories)}
    if any(cat.id < 1 for cat in kept_categories):
        notes.append("category ids were not all >= 1; renumbered 1..N in file order")
        kept_categories = [Category(i + 1, c.name, c.supercategory) for i, c in enumerate(kept_categories)]
    class_names = tuple(c.name for c in kept_categories)

    dataset_images = []
    for image_id, (file_name, width, height, extra, source_name) in images.items():
        anns = per_image.get(image_id, [])
        instances = Instances(
            (height, width),
            class_names=class_names,
            shapes=[a[0] for a in anns],
            classes=[index_of[a[1]] for a in anns],
            scores=[a[2] for a in anns],
            provenance=[a[3] for a in anns],
            crowd=[a[4] for a in anns],
            attributes=_object_list([a[5] for a in anns]),
        )
        dataset_images.append(CocoImage(file_name, width, height, instances, image_id, extra, source_name))
    bbox_only = sum(1 for anns in per_image.values() for a in anns if a[6])
    if bbox_only:
        notes.append(f"{bbox_only} annotations had no segmentation; their bbox was read as a rectangle")
    return CocoDataset(
        tuple(kept_categories),
        dataset_images,
        info=data.get("info") if isinstance(data.get("info"), Mapping) else None,
        licenses=data.get("licenses") if isinstance(data.get("licenses"), list) else None,
        import_notes=tuple(notes),
    )


def _read_categories(items: list, problems: _Problems) -> dict[int, Category]:
    out: dict[int, Category] = {}
    for i, cat in enumerate(items):
        where = f"$.categories[{i}]"
        if not isinstance(cat, Mapping):
            problems.add(where, f"expected an object, got {_kind(cat)}")
            continue
        cat_id, name = cat.get("id"), cat.get("name")
        if not _is_int(cat_id):
            problems.add(f"{where}.id", f"expected an integer id, got {_short(cat_id)}")
            continue
        if not isinstance(name, str) or not name.strip():
            problems.add(f"{where}.name", f"expected a non-empty string, got {_short(name)}")
            continue
        if cat_id in out:
            problems.add(f"{where}.id", f"duplicate category id {cat_id}")
            continue
        supercategory = cat.get("supercategory")
        out[cat_id] = Category(int(cat_id), name, supercategory if isinstance(supercategory, str) else "")
    return out


def _read_images(items: list, problems: _Problems) -> dict[int, tuple[str, int, int, dict, str | None]]:
    """Per image id: (file name relative and '/'-separated, width, height, extra keys, name as written if different)."""
    out: dict[int, tuple[str, int, int, dict, str | None]] = {}
    names: dict[str, int] = {}
    for i, img in enumerate(items):
        where = f"$.images[{i}]"
        if not isinstance(img, Mapping):
            problems.add(where, f"expected an object, got {_kind(img)}")
            continue
        image_id, file_name = img.get("id"), img.get("file_name")
        ok = True
        if not _is_int(image_id):
            problems.add(f"{where}.id", f"expected an integer id, got {_short(image_id)}")
            ok = False
        elif image_id in out:
            problems.add(f"{where}.id", f"duplicate image id {image_id}")
            ok = False
        if not isinstance(file_name, str) or not file_name.strip():
            problems.add(f"{where}.file_name", f"expected a non-empty string, got {_short(file_name)}")
            ok = False
        elif "\0" in file_name:
            problems.add(f"{where}.file_name", f"contains a NUL character: {_short(file_name)}")
            ok = False
        for key in ("width", "height"):
            value = img.get(key)
            if not _is_int(value) or value <= 0:
                problems.add(f"{where}.{key}", f"expected a positive integer, got {_short(value)}")
                ok = False
        if not ok:
            continue
        if img["width"] * img["height"] > MAX_PIXELS:  # no image this size can be read (read_image refuses it)
            problems.add(
                where,
                f"image is {img['width']}x{img['height']} pixels, more than the {MAX_PIXELS // 1_000_000} MP supported",
            )
            continue
        source_name = file_name
        file_name = file_name.replace("\\", "/").lstrip("/")
        if file_name in names:
            problems.add(f"{where}.file_name", f"{file_name!r} is also image id {names[file_name]}")
            continue
        names[file_name] = image_id
        extra = {k: v for k, v in img.items() if k not in STANDARD_IMAGE_KEYS}
        out[int(image_id)] = (
            file_name,
            int(img["width"]),
            int(img["height"]),
            extra,
            source_name if source_name != file_name else None,
        )
    return out


def _read_annotations(
    items: list, images: dict, categories: dict, problems: _Problems, executor: Executor | None
) -> dict[int, list]:
    """Per image id: [shape, category id, score, provenance, crowd, attributes, bbox_only] records."""
    out: dict[int, list] = {}
    seen_ids: set = set()
    polygons = _PolygonLists()
    masks = _RleMasks(executor)
    sizes = {image_id: (width, height) for image_id, (_, width, height, *_rest) in images.items()}
    # `type(v) is int` first: the checks below run per annotation (200,000 in a large label file), and a
    # JSON int is exactly int; anything else takes the general check (_is_int), so nothing is let through.
    for i, ann in enumerate(items):
        if type(ann) is not dict and not isinstance(ann, Mapping):
            problems.add(f"$.annotations[{i}]", f"expected an object, got {_kind(ann)}")
            continue
        ann_id = ann.get("id")
        if ann_id is not None:
            if type(ann_id) is not int and not isinstance(ann_id, (int, float, str)):
                problems.add(f"$.annotations[{i}].id", f"expected an integer id, got {_short(ann_id)}")
                continue
            if ann_id in seen_ids:
                problems.add(f"$.annotations[{i}].id", f"duplicate annotation id {_short(ann_id)}")
                continue
            seen_ids.add(ann_id)
        image_id, cat_id = ann.get("image_id"), ann.get("category_id")
        if not (type(image_id) is int or _is_int(image_id)) or image_id not in images:
            problems.add(f"$.annotations[{i}].image_id", f"no image with id {_short(image_id)}")
            continue
        if not (type(cat_id) is int or _is_int(cat_id)) or cat_id not in categories:
            problems.add(f"$.annotations[{i}].category_id", f"no category with id {_short(cat_id)}")
            continue
        iscrowd = ann.get("iscrowd", 0)
        if iscrowd not in (0, 1) or isinstance(iscrowd, float):
            problems.add(f"$.annotations[{i}].iscrowd", f"expected 0 or 1, got {_short(iscrowd)}")
            continue
        score = ann.get("score")
        if type(score) is not float or not math.isfinite(score):
            score = float(score) if _is_number(score) else math.nan
        source = ann.get("source")
        provenance = source if isinstance(source, str) and source in PROVENANCE_OF else HUMAN_DRAWN
        attributes = (
            None
            if ann.keys() <= STANDARD_ANNOTATION_KEYS
            else {k: v for k, v in ann.items() if k not in STANDARD_ANNOTATION_KEYS}
        )
        if type(image_id) is not int or type(cat_id) is not int:  # a bool or an int subclass
            image_id, cat_id = int(image_id), int(cat_id)
        record = [None, cat_id, score, provenance, bool(iscrowd), attributes, False]
        seg = ann.get("segmentation")
        if isinstance(seg, list) and seg:
            if not polygons.add(record, seg, i, sizes[image_id], problems):
                continue
        elif isinstance(seg, Mapping):
            width, height = sizes[image_id]
            rle = _checked_rle(seg, _segmentation_path(i), width, height, problems)
            if rle is None:
                continue
            masks.add(record, rle, i)
        else:
            width, height = sizes[image_id]
            record[0], record[6] = _read_bbox(ann, f"$.annotations[{i}]", width, height, problems)
            if record[0] is None:
                continue
        out.setdefault(image_id, []).append(record)
    polygons.convert(problems)
    masks.convert(problems)
    return out


class _PolygonLists:
    """The polygon lists of all annotations, turned into rings with one array conversion
    (per-ring numpy calls would dominate the import of a large file)."""

    def __init__(self) -> None:
        self.parts: list[list] = []  # every polygon list of 3 points or more, in file order
        # (record, segmentation, annotation index, (w, h), how many of `parts` are its); the JSON path
        # is spelled out only for a problem
        self.pending: list[tuple[list, list, int, tuple[int, int], int]] = []

    def add(self, record: list, seg: list, index: int, size: tuple[int, int], problems: _Problems) -> bool:
        """Check the list structure now; the numbers are checked in bulk by `convert`."""
        parts = self.parts
        first = len(parts)
        for poly in seg:
            if (type(poly) is not list and not isinstance(poly, list)) or len(poly) % 2:
                del parts[first:]
                self._report_structure(seg, index, problems)
                return False
            if len(poly) >= 6:  # degenerate parts (fewer than 3 points) carry no area
                parts.append(poly)
        if len(parts) == first:
            problems.add(_segmentation_path(index), "no polygon with at least 3 points")
            return False
        self.pending.append((record, seg, index, size, len(parts) - first))
        return True

    @staticmethod
    def _report_structure(seg: list, index: int, problems: _Problems) -> None:
        for j, poly in enumerate(seg):
            if not isinstance(poly, list):
                problems.add(f"{_segmentation_path(index)}[{j}]", f"expected a list of numbers, got {_kind(poly)}")
                return
            if len(poly) % 2:
                problems.add(f"{_segmentation_path(index)}[{j}]", f"odd number of coordinates ({len(poly)})")
                return

    def convert(self, problems: _Problems) -> None:
        """Fill each record's shape; report (by path) coordinates that are not finite numbers."""
        parts = self.parts
        if not parts:
            return
        try:
            coords = np.array(list(chain.from_iterable(parts)))
        except (ValueError, TypeError):
            coords = None
        if coords is None or coords.ndim != 1 or coords.dtype.kind not in "iuf" or not np.isfinite(coords).all():
            self._report_bad_numbers(problems)
            return
        coords = coords.astype(np.float64, copy=False).reshape(-1, 2)
        coords.setflags(write=False)
        lengths = np.fromiter(map(len, parts), np.int64, len(parts)) // 2
        ends = np.cumsum(lengths)
        starts = ends - lengths
        if self._report_far_outside(coords, starts, problems):
            return
        ends -= (coords[starts] == coords[ends - 1]).all(axis=1)  # the first vertex repeated at the end goes
        from_open_rings = Polygon.from_open_rings
        polygons = [from_open_rings(coords[s:e]) for s, e in zip(starts.tolist(), ends.tolist())]
        degenerate = np.flatnonzero(ends - starts < 3).tolist()  # fewer than 3 distinct points: no area
        for i in degenerate:
            polygons[i] = None
        k = 0
        for record, _, index, _, count in self.pending:
            own = tuple(polygons[k : k + count])
            k += count
            if degenerate and any(p is None for p in own):
                own = tuple(p for p in own if p is not None)
                if not own:
                    problems.add(_segmentation_path(index), "no polygon with at least 3 distinct points")
            record[0] = Shape.from_polygons(own)

    def _report_far_outside(self, coords: np.ndarray, starts: np.ndarray, problems: _Problems) -> bool:
        """Report polygons with vertices far outside their image (rasterising them would cost memory in
        proportion to the distance); True if there were any."""
        counts = np.fromiter((item[4] for item in self.pending), np.int64, len(self.pending))
        sizes = np.repeat(np.array([item[3] for item in self.pending], np.float64), counts, axis=0)  # (w, h) per part
        lowest, highest = np.minimum.reduceat(coords, starts), np.maximum.reduceat(coords, starts)
        far = ((lowest < -sizes) | (highest > 2 * sizes)).any(axis=1)
        if not far.any():
            return False
        far_parts = set(np.flatnonzero(far).tolist())
        k = 0
        for _, seg, index, (width, height), _ in self.pending:
            for j, poly in enumerate(seg):
                if len(poly) >= 6:
                    if k in far_parts:
                        problems.add(
                            f"{_segmentation_path(index)}[{j}]", _FAR_OUTSIDE.format(width=width, height=height)
                        )
                    k += 1
        return True

    def _report_bad_numbers(self, problems: _Problems) -> None:
        for _, seg, index, _, _ in self.pending:
            for j, poly in enumerate(seg):
                message = _ring_problem(poly)
                if message:
                    problems.add(f"{_segmentation_path(index)}[{j}]", message)


class _RleMasks:
    """The RLE masks of all annotations, traced in batches (per-mask overhead would dominate); with an
    executor, each batch is handed over as soon as it is full."""

    BATCH = 256  # masks per task: ~0.1 s of tracing, few enough to keep a helper busy early

    def __init__(self, executor: Executor | None) -> None:
        self.executor = executor
        self.pending: list[tuple[list, dict, int]] = []  # (record, checked RLE, annotation index)
        self.batches: list[tuple[int, int, Future | None]] = []  # (first, end) in pending, its task if handed over

    def add(self, record: list, rle: dict, index: int) -> None:
        self.pending.append((record, rle, index))
        first = self.batches[-1][1] if self.batches else 0
        if self.executor is not None and len(self.pending) - first == self.BATCH:
            self._hand_over(first, len(self.pending))

    def _hand_over(self, first: int, end: int) -> None:
        try:
            task = self.executor.submit(shapes_from_rles, self._rles(first, end))
        except Exception:  # noqa: BLE001 a pool that cannot take work (shut down, broken): trace here
            task = None
        self.batches.append((first, end, task))

    def convert(self, problems: _Problems) -> None:
        """Fill each record's shape; report (by path) the masks that cannot be decoded."""
        first = self.batches[-1][1] if self.batches else 0
        if first < len(self.pending):
            self.batches.append((first, len(self.pending), None))
        done: list[list | None] = [None] * len(self.batches)
        # This process works down from the last batch, taking back each one the executor has not started,
        # while the executor works up from the first (it starts them in order).
        for i in reversed(range(len(self.batches))):
            first, end, task = self.batches[i]
            if task is not None and not task.cancel():
                break
            done[i] = shapes_from_rles(self._rles(first, end))
        shapes = []
        for (first, end, task), traced in zip(self.batches, done):
            shapes.extend(traced if traced is not None else _traced(task, self._rles(first, end)))
        for (record, _, index), shape in zip(self.pending, shapes):
            if isinstance(shape, Exception):  # pycocotools raises bare errors on corrupt strings
                problems.add(f"{_segmentation_path(index)}.counts", f"cannot decode RLE ({shape})")
            else:
                record[0] = shape

    def _rles(self, first: int, end: int) -> list[dict]:
        return [rle for _, rle, _ in self.pending[first:end]]


def _traced(task: Future | None, rles: list[dict]) -> list:
    """shapes_from_rles(rles): the task's result, or traced here when the executor took no task or it failed
    (a helper process that died, a result that could not be sent back). Shapes that crossed from
    another process are made read-only again (pickling drops the flag)."""
    if task is not None:
        try:
            shapes = task.result()
        except Exception:  # noqa: BLE001 whatever went wrong there, the same work done here says it again
            return shapes_from_rles(rles)
        for shape in shapes:
            if not isinstance(shape, Exception):
                for polygon in shape.polygons:
                    for ring in (polygon.exterior, *polygon.holes):
                        ring.setflags(write=False)
        return shapes
    return shapes_from_rles(rles)


def _segmentation_path(index: int) -> str:
    return f"$.annotations[{index}].segmentation"


def _read_bbox(ann: Mapping, where: str, width: int, height: int, problems: _Problems):
    """(Shape, True) of a bbox-only annotation, or (None, False) after reporting a problem."""
    seg = ann.get("segmentation")
    if seg not in (None, []):
        problems.add(f"{where}.segmentation", f"expected polygon lists or an RLE object, got {_kind(seg)}")
        return None, False
    bbox = ann.get("bbox")
    if isinstance(bbox, list) and len(bbox) == 4 and all(_is_number(v) for v in bbox) and bbox[2] > 0 and bbox[3] > 0:
        x, y, w, h = (float(v) for v in bbox)
        if x < -width or y < -height or x + w > 2 * width or y + h > 2 * height:
            problems.add(f"{where}.bbox", _FAR_OUTSIDE.format(width=width, height=height))
            return None, False
        return Shape((Polygon(np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]])),)), True
    problems.add(f"{where}.segmentation", "missing, and no usable bbox [x, y, w, h] either")
    return None, False


def _checked_rle(seg: Mapping, where: str, width: int, height: int, problems: _Problems) -> dict | None:
    """The RLE {"size", "counts"} of an annotation if its structure fits the image, else None after reporting."""
    size, counts = seg.get("size"), seg.get("counts")
    if not (isinstance(size, list) and len(size) == 2 and all(_is_int(v) for v in size)):
        problems.add(f"{where}.size", f"expected [height, width], got {_short(size)}")
        return None
    if list(size) != [height, width]:
        problems.add(f"{where}.size", f"RLE is {size[1]}x{size[0]} but the image is {width}x{height}")
        return None
    if isinstance(counts, list):
        if not all(_is_int(v) and v >= 0 for v in counts) or sum(counts) != height * width:
            problems.add(
                f"{where}.counts", f"uncompressed counts must be non-negative integers summing to {height * width}"
            )
            return None
    elif not isinstance(counts, str) or not counts:
        problems.add(f"{where}.counts", f"expected a string or a list of integers, got {_kind(counts)}")
        return None
    return {"size": size, "counts": counts}


def _ring_problem(poly: list) -> str | None:
    """What is wrong with the numbers of one polygon list, if anything."""
    try:
        array = np.array(poly)
    except (ValueError, TypeError):
        array = None
    if array is None or array.ndim != 1 or array.dtype.kind not in "iuf":
        return "expected a flat list of numbers [x1, y1, x2, y2, ...]"
    if not np.isfinite(array).all():
        return "coordinates must be finite numbers"
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _short(value: Any, limit: int = 80) -> str:
    """repr of a value for a message, cut short (a hostile file may hold megabytes in one field)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", type(None): "null", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


def _object_list(values: list) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out
