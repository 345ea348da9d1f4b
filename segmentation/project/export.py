"""Export a project's annotations, all or verified only: as a COCO file (through segmentation.coco) or in any
format of segmentation.formats (a file or a folder, with the format's notes on what it could not carry)."""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from protolabel.segmentation.coco import Category, CocoDataset, CocoImage, write_coco
from protolabel.segmentation.folders import PROJECT_DIR_NAME
from protolabel.segmentation.formats.base import AnnotationFormat
from protolabel.segmentation.formats.youtube_vis import FORMAT_NAME as VIS_FORMAT_NAME
from protolabel.segmentation.geometry.instances import Instances
from protolabel.segmentation.images import ImageReadError, read_image
from protolabel.segmentation.media.errors import VideoError
from protolabel.segmentation.output_paths import (
    OutputPathError,
    check_not_an_image_in,
    check_output_dir,
    check_output_file,
    write_with_fallback,
)
from protolabel.segmentation.project.attributes import exported_attributes
from protolabel.segmentation.project.frame_images import (
    FrameFiles,
    FrameWriter,
    LabelledFrame,
    frame_files_for,
    labelled_frames,
    video_store_of,
)
from protolabel.segmentation.project.labels import KEEP_CLASSES_KEY, exported_class_names
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus, Provenance
from protolabel.segmentation.project.store import DamagedRowError, ProjectStore
from protolabel.segmentation.project.youtube_vis import export_youtube_vis
from protolabel.segmentation.yolact.classes import category_ids_for_labels

EXPORTED_STATUSES = (ImageStatus.AUTO_LABELED, ImageStatus.EDITED, ImageStatus.VERIFIED)


@dataclass(frozen=True)
class ExportSummary:
    """What an export wrote: `images` pictures holding `annotations` annotations, in the format's own words
    (`nouns`: objects in images, or tracks in frames for YouTube-VIS)."""

    path: Path
    images: int
    annotations: int
    skipped: tuple[str, ...]  # images left out (unreadable for their size, or damaged rows), with the reason
    note: str = ""  # one line when the file could not be written where asked and went to `path` instead
    notes: tuple[str, ...] = ()  # what the format could not carry, with counts (never a silent loss)
    nouns: tuple[str, str] = ("object", "image")  # (an annotation, an image) in the format's words

    def counts(self) -> str:
        """What was written, for a status line: "2 tracks in 6 frames", "1 object in 1 image"."""
        annotation, image = self.nouns
        return f"{_count(self.annotations, annotation)} in {_count(self.images, image)}"

    def skipped_line(self) -> str:
        """What was left out, for a status line: "2 images skipped (unreadable or damaged)"; '' when nothing."""
        if not self.skipped:
            return ""
        # YouTube-VIS leaves out whole videos (unreadable, another file now) as well as damaged frames
        what = (
            _count(len(self.skipped), "image") if self.nouns[1] == "image" else f"{len(self.skipped)} videos or frames"
        )
        return f"{what} skipped (unreadable or damaged)"


def _count(n: int, noun: str) -> str:
    return f"1 {noun}" if n == 1 else f"{n:,} {noun}s"


def project_dataset(
    store: ProjectStore,
    *,
    verified_only: bool = False,
    verified_objects: bool = False,
    labels: tuple[str, ...] = (),
    progress: Callable[[int, int], None] | None = None,
    frames: FrameFiles | None = None,
) -> tuple[CocoDataset, list[str]]:
    """The project as a CocoDataset. Images count when a person or the model labelled them
    (never-labelled images are left out: an empty image in a COCO file says "nothing here").
    `verified_only`: verified images only. `verified_objects`: the training set of verified.py, every
    image holding a verified object, its other objects crowd regions (ignored by training).
    `frames`: video frames count too, each written as a PNG there (frame_images; its record carries the
    frame's identity); without it frames are left out (formats that cannot say which frame an image is)."""
    statuses = (ImageStatus.VERIFIED,) if verified_only else EXPORTED_STATUSES
    if verified_objects:
        candidates = sorted(store.verified_object_counts())
    else:
        candidates = store.annotated_images(statuses)
    names = [n for n in candidates if (store.folder / n).is_file()]
    per_image: list[tuple[str, list[AnnotatedObject], LabelledFrame | None]] = []
    skipped: list[str] = []
    for name in names:
        try:
            per_image.append((name, store.objects(name), None))
        except DamagedRowError as exc:  # one damaged image must not cost the export of the others
            skipped.append(str(exc))
    if frames is not None:
        found, frames_skipped = labelled_frames(store, statuses, verified_objects=verified_objects)
        per_image.extend((frame.key, list(frame.objects), frame) for frame in found)
        skipped.extend(frames_skipped)
    used = dict.fromkeys(
        o.label
        for _, objects, _frame in per_image
        for o in objects
        if not verified_objects or o.provenance is Provenance.VERIFIED
    )
    # Unused classes are left out unless the user keeps them (label dock): no empty categories by accident.
    keep = store.setting(KEEP_CLASSES_KEY, []) or []
    class_names = exported_class_names(labels, used, keep)
    ids = category_ids_for_labels(class_names)  # COCO class names keep their official ids, as `label` writes
    categories = tuple(Category(cat_id, name) for cat_id, name in zip(ids, class_names))
    writer = FrameWriter(store.folder, frames) if frames is not None else None
    with contextlib.ExitStack() as stack:
        if writer is not None:
            stack.enter_context(writer)
        images = _coco_images(store, per_image, writer, class_names, verified_objects, skipped, progress)
    return CocoDataset(categories, images), skipped


def _coco_images(
    store: ProjectStore,
    per_image: list[tuple[str, list[AnnotatedObject], LabelledFrame | None]],
    writer: FrameWriter | None,
    class_names: tuple[str, ...],
    verified_objects: bool,
    skipped: list[str],
    progress: Callable[[int, int], None] | None,
) -> list[CocoImage]:
    """One COCO image per labelled image or frame (a frame's PNG written by `writer`); what fails goes to
    `skipped`."""
    index = {name: i for i, name in enumerate(class_names)}
    tags = store.tags_by_image()
    images = []
    for done, (name, objects, frame) in enumerate(per_image, start=1):
        extra: dict = {}
        size = store.image_size(name)
        if frame is not None and writer is not None:
            try:
                name, size, extra = writer.write(frame.video, frame.index)
            except VideoError as exc:  # a missing or replaced video costs its frames, not the export
                if str(exc) not in skipped:
                    skipped.append(str(exc))
                continue
        if size is None:
            try:
                size = read_image(store.folder / name).shape[:2]
            except ImageReadError as exc:
                skipped.append(str(exc))
                continue
        crowd = [verified_objects and o.provenance is not Provenance.VERIFIED for o in objects]
        instances = Instances(
            size,
            class_names=class_names,
            shapes=[o.shape for o in objects],
            # A region to ignore takes the first class when its own has no verified object: training reads
            # no class of a crowd region, and a class without examples would only learn "never this".
            classes=[index.get(o.label, 0) for o in objects],
            scores=[math.nan if o.score is None else o.score for o in objects],
            provenance=[o.provenance.value for o in objects],
            crowd=crowd,
            attributes=_object_array([exported_attributes(o.attributes) for o in objects]),
        )
        image_tags = tags.get(frame.key if frame is not None else name)
        if image_tags:
            extra["tags"] = list(image_tags)
        images.append(CocoImage(name, width=size[1], height=size[0], instances=instances, extra=extra))
        if progress:
            progress(done, len(per_image))
    return images


def _object_array(values: list) -> np.ndarray:
    """A 1-D object array of `values` as they are (np.asarray would turn a list of dicts or Nones elsewhere)."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def check_export_path(folder: str | Path, path: str | Path, fmt: AnnotationFormat | None = None) -> Path:
    """The export path if it can be written and is none of the project's own files: not its
    database or anything else in FOLDER/.protolabel/, not an image file inside the folder; for a
    format that writes a folder, a folder outside the project's (what it writes, copies of images
    among them, would otherwise become the project's inputs). Raises OutputPathError (one line) otherwise."""
    if fmt is not None and fmt.writes_folder:
        return _check_export_folder(folder, path, fmt)
    path = check_output_file(path, what="export file", streams=True)
    target = Path(os.path.realpath(path))
    root = Path(os.path.realpath(folder))
    if target.is_relative_to(root / PROJECT_DIR_NAME):
        raise OutputPathError(f"{path}: is inside the project's own {PROJECT_DIR_NAME} folder; choose a file elsewhere")
    check_not_an_image_in(folder, path, what="export file")
    return path


def _check_export_folder(folder: str | Path, path: str | Path, fmt: AnnotationFormat) -> Path:
    what = f"{fmt.name} export folder"
    path = check_output_dir(path, what=what)
    target = Path(os.path.realpath(path))
    root = Path(os.path.realpath(folder))
    if target.is_relative_to(root) or root.is_relative_to(target):
        raise OutputPathError(
            f"{path}: the {what} would hold or lie inside the project folder {folder}; choose a folder elsewhere"
        )
    return path


def export_project(
    store: ProjectStore,
    fmt: AnnotationFormat,
    path: str | Path,
    *,
    verified_only: bool = False,
    labels: tuple[str, ...] = (),
    progress: Callable[[int, int], None] | None = None,
    polygons: bool = False,
) -> ExportSummary:
    """The user's export in format `fmt`: the path checked first (check_export_path), then the project's
    dataset written by the format; COCO exactly as `export_coco`; YouTube-VIS by project.youtube_vis (its
    summary counts tracks in frames; `polygons`: polygons instead of RLE). The
    summary carries the format's notes."""
    if fmt.name == "coco":
        return export_coco(store, path, verified_only=verified_only, labels=labels, progress=progress)
    if fmt.name == VIS_FORMAT_NAME:  # per video: frames and tracks, not the per-image dataset
        path = check_export_path(store.folder, path, fmt)
        Path(path).mkdir(parents=True, exist_ok=True)
        vis = export_youtube_vis(
            store,
            path,
            verified_only=verified_only,
            labels=labels,
            segmentation="polygons" if polygons else "rle",
            progress=progress,
        )
        return ExportSummary(vis.path, vis.frames, vis.tracks, vis.skipped, "", vis.notes, ("track", "frame"))
    path = check_export_path(store.folder, path, fmt)
    dataset, skipped = project_dataset(store, verified_only=verified_only, labels=labels, progress=progress)
    dataset = with_image_files(dataset, store.folder)
    if fmt.name == "labelme":
        dataset = with_tags_as_flags(dataset)
    if fmt.writes_folder:
        Path(path).mkdir(parents=True, exist_ok=True)
        notes = fmt.write(dataset, Path(path))
        return ExportSummary(Path(path), len(dataset.images), dataset.num_annotations, tuple(skipped), "", tuple(notes))
    written = write_with_fallback(path, lambda target: fmt.write(dataset, Path(target)))
    return ExportSummary(
        written.path,
        len(dataset.images),
        dataset.num_annotations,
        tuple(skipped),
        written.note(),
        tuple(written.value),
    )


def with_image_files(dataset: CocoDataset, folder: str | Path) -> CocoDataset:
    """The dataset with each image's `source_name` the absolute path of its file in `folder`: formats that
    point at the images (labelme's imagePath) or lay them out (YOLO's images/) find them there."""
    root = Path(os.path.abspath(folder))
    images = [replace(image, source_name=str(root / image.file_name)) for image in dataset.images]
    return CocoDataset(dataset.categories, images, dataset.info, dataset.licenses, dataset.import_notes)


def with_tags_as_flags(dataset: CocoDataset) -> CocoDataset:
    """The dataset with each image's tags as labelme `flags`: every tag of the dataset, set where the image has
    it (labelme shows one checklist of flags for every image)."""
    every = sorted({t for image in dataset.images for t in image.extra.get("tags", ())})
    if not every:
        return dataset
    images = []
    for image in dataset.images:
        own = set(image.extra.get("tags", ()))
        extra = {k: v for k, v in image.extra.items() if k != "tags"}
        images.append(replace(image, extra={**extra, "flags": {t: t in own for t in every}}))
    return CocoDataset(dataset.categories, images, dataset.info, dataset.licenses, dataset.import_notes)


def export_coco(
    store: ProjectStore,
    path: str | Path,
    *,
    verified_only: bool = False,
    labels: tuple[str, ...] = (),
    progress: Callable[[int, int], None] | None = None,
) -> ExportSummary:
    """The user's export: `write_project_coco` to a path that is none of the project's own files
    (check_export_path, before any work)."""
    check_export_path(store.folder, path)
    return write_project_coco(store, path, verified_only=verified_only, labels=labels, progress=progress)


def write_project_coco(
    store: ProjectStore,
    path: str | Path,
    *,
    verified_only: bool = False,
    verified_objects: bool = False,
    labels: tuple[str, ...] = (),
    progress: Callable[[int, int], None] | None = None,
) -> ExportSummary:
    """Write the project's COCO file atomically (the export, and the training set the app writes into
    its own run folder under .protolabel/). Category ids: the official COCO ids when every label is a
    COCO class name (as `protolabel label` writes for a COCO model), else 1..N in the project's label order.

    The path is checked before any work (OutputPathError: missing or read-only folder, a folder);
    when the write fails for lack of space or permission the file goes to a fallback (the
    summary's `path` and `note` say where), OutputWriteError when no place could take it."""
    check_output_file(path, what="COCO file", streams=True)
    frames = _frame_files(store.folder, path)
    dataset, skipped = project_dataset(
        store,
        verified_only=verified_only,
        verified_objects=verified_objects,
        labels=labels,
        progress=progress,
        frames=frames,
    )
    written = write_with_fallback(path, lambda target: write_coco(target, dataset))
    data = written.value
    frame_count = sum("video_sha256" in image.extra for image in dataset.images)
    notes = (f"{frame_count} video frames written as PNG files in {frames.folder}",) if frames and frame_count else ()
    if frames is None and _has_videos(store):
        notes = ("video frames left out: a COCO file written to a stream has no folder for their files",)
    return ExportSummary(
        written.path, len(data["images"]), len(data["annotations"]), tuple(skipped), written.note(), notes
    )


def _has_videos(store: ProjectStore) -> bool:
    with video_store_of(store) as videos:
        return bool(videos.videos())


def _frame_files(folder: Path, path: str | Path) -> FrameFiles | None:
    """Where a COCO file at `path` puts its frames' PNGs (frame_images' rule); None for a stream."""
    target = Path(os.path.realpath(path))
    if target.exists() and not target.is_file() or target.parent == Path("/dev"):
        return None
    return frame_files_for(path, folder)
