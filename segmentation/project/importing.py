"""Merge an annotation file or folder (a `protolabel label` run elsewhere, another tool's export, in any format of
segmentation.formats; COCO by default) into a folder's project.

Two steps so the app can confirm first: `plan_import` reads the file and the store and decides, per
image, what will happen (nothing is written); `apply_import` writes the plan in ONE store transaction.

Rules: an image is matched by its `file_name` relative to the folder (an absolute path inside the
folder is accepted, one outside is refused by name; only files the folder walker lists are used, so
nothing outside the folder is ever read). Objects keep the `source` they carry (auto / edited /
verified); objects without one were drawn by a person in another tool and come in as `edited` (the
COCO reader's rule: the store's three provenances stay the whole model, and auto-labelling never
replaces them). An image a person already worked on (edited or verified) is never overwritten.
Categories merge by name into the project's labels: the file's categories that objects use and the
project lacks join after its classes, in the file's order. Crowd regions are skipped and counted.
Per-object attributes (CVAT's COCO layout, labelme shape flags) and image tags (CVAT <tag>, labelme flags that
are set) come along; attribute names the project's schema lacks join it (attributes.extended_schema).
"""

from __future__ import annotations

import math
import os
import posixpath
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from protolabel.segmentation.coco import CocoDataset
from protolabel.segmentation.coco.export import gc_paused
from protolabel.segmentation.coco.reader import read_coco
from protolabel.segmentation.folders import NOT_UTF8, image_names, is_utf8_name, path_inside, shown_name
from protolabel.segmentation.formats.base import AnnotationFormat
from protolabel.segmentation.formats.registry import by_name
from protolabel.segmentation.geometry.provenance import PROVENANCE_OF, Provenance
from protolabel.segmentation.image_headers import image_size_from_header
from protolabel.segmentation.input_files import open_input
from protolabel.segmentation.pipeline.pools import postprocess_pool
from protolabel.segmentation.project.attributes import (
    ATTRIBUTE_SCHEMA_KEY,
    AttributeSchemaError,
    extended_schema,
    imported_attributes,
    imported_tags,
    parse_attribute_schema,
    schema_setting,
)
from protolabel.segmentation.project.labels import LABELS_KEY
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus, ImportedImage
from protolabel.segmentation.project.store import (
    DamagedProjectError,
    DamagedRowError,
    ImageOverview,
    ObjectsOverview,
    ProjectStore,
)

HEADER_BYTES = 64 * 1024  # enough for the size of every format image_headers reads (JPEG SOF after EXIF)

# Why an image of the file was not merged (the summary groups by these).
NOT_IN_FOLDER = "not in the folder"
OUTSIDE_FOLDER = "outside the folder"
UNREADABLE = "unreadable"
SIZE_DIFFERS = "size differs from the image file"
WORKED_ON = "already edited or verified in the project, left as it is"
DAMAGED = "its annotations in the project are damaged, left as they are"


@dataclass(frozen=True)
class ImportPlan:
    """What an import will do; nothing is written until `apply_import`."""

    coco_path: Path
    images: tuple[ImportedImage, ...]
    skipped: tuple[tuple[str, str], ...]  # (file name as written, reason)
    crowd_skipped: int
    new_labels: tuple[str, ...]  # categories the project does not have yet
    labels: tuple[str, ...]  # the project's labels after the merge
    notes: tuple[str, ...] = ()  # what the COCO reader changed while reading
    replaces: int = 0  # auto objects of the planned images that the import replaces
    attributes_dropped: int = 0  # attribute values left out: not true/false, a finite number or text

    @property
    def objects(self) -> int:
        return sum(len(image.objects) for image in self.images)

    def preview(self) -> ImportSummary:
        """The summary the import will have if nobody edits the folder meanwhile (for a confirmation)."""
        return ImportSummary(
            tuple(image.path for image in self.images),
            self.objects,
            self.replaces,
            self.skipped,
            self.crowd_skipped,
            self.new_labels,
            self._notes(),
        )

    def _notes(self) -> tuple[str, ...]:
        if not self.attributes_dropped:
            return self.notes
        return (
            *self.notes,
            f"Left out {_count(self.attributes_dropped, 'attribute value')} that "
            f"{'is' if self.attributes_dropped == 1 else 'are'} not true/false, a number or text.",
        )


@dataclass(frozen=True)
class ImportSummary:
    """What an import did: merged images and objects, and every skipped image with its reason."""

    merged: tuple[str, ...]
    objects: int
    replaced_auto: int
    skipped: tuple[tuple[str, str], ...]
    crowd_skipped: int
    new_labels: tuple[str, ...]
    notes: tuple[str, ...] = field(default=())
    frames: frozenset[str] = frozenset()  # the merged and skipped names that are video frames, not images

    def lines(self, limit: int = 10, *, planned: bool = False) -> list[str]:
        """The summary in plain lines: counts first, then up to `limit` skipped images (or frames) per reason.
        `planned`: worded as what will happen (the confirmation before an import)."""
        merge, skip = ("Will merge", "Will skip") if planned else ("Merged", "Skipped")
        replacing = "replacing" if not planned else "replacing their"
        out = [
            f"{merge} {self._pictures(self.merged)} with {_count(self.objects, 'object')}"
            + (f", {replacing} {_count(self.replaced_auto, 'auto object')}" if self.replaced_auto else "")
            + "."
        ]
        if self.new_labels:
            out.append(f"New classes: {', '.join(self.new_labels)}.")
        if self.crowd_skipped:
            out.append(f"{skip} {_count(self.crowd_skipped, 'crowd region')} (crowd regions are not objects).")
        for reason, names in _by_reason(self.skipped).items():
            shown = ", ".join(map(shown_name, names[:limit]))
            shown += f", ... and {len(names) - limit} more" if len(names) > limit else ""
            out.append(f"{skip} {self._pictures(names)}, {reason}: {shown}")
        out.extend(self.notes)
        return out

    def _pictures(self, names: Sequence[str]) -> str:
        """How many `names` as a person counts them: "3 images", "6 frames", "6 frames and 3 images" (0 of
        an import of frames is "0 frames")."""
        frames = sum(1 for name in names if name in self.frames)
        images = len(names) - frames
        if frames and images:
            return f"{_count(frames, 'frame')} and {_count(images, 'image')}"
        return _count(frames, "frame") if frames or (self.frames and not images) else _count(images, "image")


def read_import_file(path: str | os.PathLike) -> CocoDataset:
    """read_coco for an import. A large file's RLE masks (shapes with holes, 1 in 20 objects of a
    label file but a quarter of reading it) are traced in a helper process while this one reads the
    rest, where there is a core to spare; any trouble with the helper and they are traced here."""
    if os.path.getsize(path) < HELPER_MIN_BYTES or (os.cpu_count() or 1) < 2:
        return read_coco(path)
    try:
        helper = postprocess_pool(1)  # spawned, geometry imported: ready by the time the JSON is parsed
    except (OSError, RuntimeError):  # no processes here (limits, a sandbox): read alone
        return read_coco(path)
    try:
        return read_coco(path, executor=helper)
    finally:
        helper.shutdown(wait=True, cancel_futures=True)


def read_dataset(path: str | os.PathLike, fmt: AnnotationFormat, folder: str | os.PathLike) -> CocoDataset:
    """The dataset at `path` in format `fmt`, image names relative to the project `folder`. COCO goes through
    read_import_file (its helper process); the others through their own reader. Raises FormatError or
    CocoFormatError (not usable, naming the problems) or OSError."""
    if fmt.name == "coco":
        return read_import_file(path)
    return fmt.read(Path(path), Path(folder))


def plan_import(
    store: ProjectStore,
    coco: str | os.PathLike | CocoDataset,
    labels: Iterable[str] | None = None,
    fmt: AnnotationFormat | None = None,
) -> ImportPlan:
    """Decide what merging the file or folder (or a dataset already read from it) into the store's folder
    does; reads only. `fmt`: its format (default COCO). Raises CocoFormatError or FormatError (not usable) or
    OSError (cannot be read). `labels`: the project's labels (default: as stored)."""
    if isinstance(coco, CocoDataset):
        dataset = coco
    else:
        dataset = read_dataset(coco, fmt or by_name("coco"), store.folder)
    coco_path = Path("<COCO data>") if isinstance(coco, CocoDataset) else Path(coco)
    with gc_paused():  # 200,000 new objects: the collector's full scans would cost more than the work
        return _plan(store, dataset, coco_path, labels)


def _plan(store: ProjectStore, dataset: CocoDataset, coco_path: Path, labels: Iterable[str] | None) -> ImportPlan:
    folder = store.folder
    present = set(image_names(folder))
    statuses = store.statuses()
    overview = _objects_overview(store)
    project_labels = tuple(store.setting(LABELS_KEY, []) if labels is None else labels)
    class_names = tuple(c.name.strip() for c in dataset.categories)
    images, skipped, crowd, replaces, dropped = [], [], 0, 0, 0
    used: dict[str, None] = {}  # the file's classes in first use, an ordered set
    for image in dataset.images:
        written = image.source_name or image.file_name
        name = _name_in_folder(folder, image.file_name, image.source_name)
        if name is None:
            skipped.append((written, OUTSIDE_FOLDER))
            continue
        if not is_utf8_name(name):
            skipped.append((written, NOT_UTF8))
            continue
        if name not in present:
            skipped.append((written, NOT_IN_FOLDER))
            continue
        real = path_inside(folder, name)  # training's rule: a link that leads outside the folder is not read
        if real is None:
            skipped.append((written, OUTSIDE_FOLDER))
            continue
        reason = _check_file(real, image.width, image.height)
        if reason:
            skipped.append((written, reason))
            continue
        if statuses.get(name) in _WORKED_ON:
            skipped.append((written, WORKED_ON))
            continue
        stored = overview.of(name)
        if stored.damaged:  # its stored objects cannot be read: leave them for the user to look at
            skipped.append((written, DAMAGED))
            continue
        if stored.not_auto:
            skipped.append((written, WORKED_ON))
            continue
        inst = image.instances
        crowd_flags = inst.crowd.tolist()
        crowd += sum(crowd_flags)
        objects = []
        extras = inst.attributes.tolist() if inst.has("attributes") else [None] * len(inst)
        for shape, cls, score, source, is_crowd, extra in zip(
            inst.shapes, inst.classes.tolist(), inst.scores.tolist(), inst.provenance.tolist(), crowd_flags, extras
        ):
            if is_crowd:
                continue
            label = class_names[cls]
            used[label] = None
            attributes, left_out = imported_attributes(extra)
            dropped += left_out
            objects.append(
                AnnotatedObject(
                    label, shape, PROVENANCE_OF[source], None if math.isnan(score) else score, attributes=attributes
                )
            )
        tags = imported_tags(image.extra)
        images.append(ImportedImage(name, (image.height, image.width), tuple(objects), tags))
        if name in statuses:  # only images with a status can hold objects the import replaces
            replaces += stored.count
    # In the file's category order, not the order objects are met: an export imported into a fresh copy
    # keeps its classes' order (their number keys, colours and category ids).
    new_labels = tuple(label for label in dict.fromkeys(class_names) if label in used and label not in project_labels)
    return ImportPlan(
        coco_path,
        tuple(images),
        tuple(skipped),
        crowd,
        new_labels,
        (*project_labels, *new_labels),
        dataset.import_notes,
        replaces,
        dropped,
    )


def apply_import(store: ProjectStore, plan: ImportPlan) -> ImportSummary:
    """Write the plan in one store transaction (all or nothing). An image a person worked on since
    the plan was made is still left alone (the store checks again inside the transaction)."""
    # The labels as stored now (a class added since the plan stays), plus the file's new ones.
    labels = list(dict.fromkeys((*store.setting(LABELS_KEY, []), *plan.new_labels)))
    settings: dict[str, Any] = {LABELS_KEY: labels} if plan.new_labels else {}
    settings.update(_schema_with_imported_attributes(store, plan))
    with gc_paused():
        outcome = store.import_images(plan.images, settings)
    kept, replaced = outcome.kept, outcome.replaced
    kept_set = set(kept)
    merged = tuple(image.path for image in plan.images if image.path not in kept_set)
    objects = sum(len(image.objects) for image in plan.images if image.path not in kept_set)
    skipped = plan.skipped + tuple((n, WORKED_ON) for n in kept)
    return ImportSummary(merged, objects, replaced, skipped, plan.crowd_skipped, plan.new_labels, plan._notes())


def _schema_with_imported_attributes(store: ProjectStore, plan: ImportPlan) -> dict[str, Any]:
    """The settings that add the plan's new attribute names to the project's schema ({} when none, or when the
    stored schema cannot be read: a person's schema is never replaced by a guess)."""
    try:
        schema = parse_attribute_schema(store.setting(ATTRIBUTE_SCHEMA_KEY))
    except AttributeSchemaError:
        return {}
    extended = extended_schema(schema, (o.attributes for image in plan.images for o in image.objects if o.attributes))
    return {ATTRIBUTE_SCHEMA_KEY: schema_setting(extended)} if len(extended) > len(schema) else {}


def import_coco(store: ProjectStore, coco: str | os.PathLike | CocoDataset) -> ImportSummary:
    """Plan and apply in one go (the headless `protolabel import`)."""
    return apply_import(store, plan_import(store, coco))


def _objects_overview(store: ProjectStore) -> ObjectsOverview | _ImageByImage:
    """store.objects_overview(), or, where a damaged page stops it, the same read image by image (the
    damage then stays with the images whose rows cannot be read)."""
    try:
        return store.objects_overview()
    except DamagedProjectError:
        return _ImageByImage(store)


class _ImageByImage:
    """ObjectsOverview.of for a store whose overview cannot be read: each image's objects read on their own."""

    def __init__(self, store: ProjectStore) -> None:
        self.store = store

    def of(self, path: str) -> ImageOverview:
        try:
            objects = self.store.objects(path)
        except DamagedRowError:
            return ImageOverview(count=1, not_auto=False, damaged=True)
        return ImageOverview(len(objects), any(o.provenance is not Provenance.AUTO for o in objects), damaged=False)


HELPER_MIN_BYTES = 16 << 20  # below ~2,000 images a helper process costs more than it saves
_WORKED_ON = frozenset({ImageStatus.EDITED, ImageStatus.VERIFIED})


def _name_in_folder(folder: Path, file_name: str, source_name: str | None) -> str | None:
    """The image's name relative to the folder ('/'-separated), or None when it points outside it.

    Absolute paths (as some tools write) count when they lie inside the folder; nothing is read."""
    written = (source_name or file_name).replace("\\", "/")
    if os.path.isabs(written) or posixpath.isabs(written) or (len(written) > 1 and written[1] == ":"):
        root = os.path.normcase(os.path.normpath(str(folder)))
        target = os.path.normcase(os.path.normpath(written))
        try:
            inside = os.path.commonpath([root, target]) == root
        except ValueError:  # another drive, or a Windows path read on Linux
            inside = False
        if not inside:
            return None
        return Path(os.path.relpath(target, root)).as_posix()
    name = posixpath.normpath(file_name)
    if name == ".." or name.startswith("../"):
        return None
    return name


def _check_file(path: Path, width: int, height: int) -> str | None:
    """Why the image file cannot take these annotations (unreadable, another size), or None.

    Only the header is read (a 10,000-image import must not decode every image); a format whose
    header is not parsed passes, as the app checks the size when it opens the image."""
    try:
        with open_input(path) as handle:  # a FIFO among the images must not block the import
            data = handle.read(HEADER_BYTES)
    except OSError as exc:
        return f"{UNREADABLE} ({exc.strerror or exc})"
    if not data:
        return f"{UNREADABLE} (the file is empty)"
    size = image_size_from_header(data)
    if size is not None and size not in ((width, height), (height, width)):  # EXIF rotation swaps the sides
        return f"{SIZE_DIFFERS} ({size[0]}x{size[1]}, the COCO file says {width}x{height})"
    return None


def _by_reason(skipped: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, reason in skipped:
        out.setdefault(reason.split(" (")[0], []).append(name)  # details aside: one line per kind
    return out


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n:,} {noun}s"
