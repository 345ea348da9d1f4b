"""Headless pre-labelling: run YOLACT over a folder and keep the result in a COCO file.

The COCO file is the only state: re-running reads it back and, by default, labels only the
images that have no annotations in it, so objects a person drew or corrected are never
replaced without being asked (`RelabelMode`).
"""

from __future__ import annotations

import enum
import functools
import os
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from protolabel.segmentation.coco.dataset import CocoDataset, CocoImage
from protolabel.segmentation.coco.export import write_coco
from protolabel.segmentation.coco.reader import read_coco
from protolabel.segmentation.folders import is_image_name, walk_folder
from protolabel.segmentation.geometry.instances import Instances
from protolabel.segmentation.geometry.outlines import DEFAULT_MIN_AREA, DEFAULT_TOLERANCE
from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.output_paths import is_disk_error, write_with_fallback
from protolabel.segmentation.pipeline import run_pipeline
from protolabel.segmentation.project.labels import ClassMapping
from protolabel.segmentation.yolact.classes import COCO_CLASSES, category_ids_for_labels

if TYPE_CHECKING:  # the engine's modules pull in torch
    from protolabel.segmentation.detections import Detections


class RelabelMode(enum.Enum):
    """Which images of an existing COCO file a run labels (again)."""

    UNLABELED = "unlabeled"  # only images without annotations (default: nothing is replaced)
    AUTO = "auto"  # also images whose annotations all came from the model, untouched by a person
    ALL = "all"  # every image; existing annotations are replaced (explicit --overwrite)


@dataclass(frozen=True)
class FolderScan:
    """Images under a folder (relative '/'-separated names and paths, natural order) and other files."""

    images: list[tuple[str, Path]]
    other_files: list[str]
    left_out: list[str] = field(default_factory=list)  # the walker's lines on what it skipped, and why


@dataclass
class LabelReport:
    """What a run did; `failed` holds one message per image that could not be read."""

    labeled: int = 0
    objects: int = 0
    kept: int = 0
    failed: list[str] = field(default_factory=list)
    interrupted: bool = False
    interruption: KeyboardInterrupt | None = None  # what stopped it: Ctrl+C, or cli.Terminated for SIGTERM
    written: Path | None = None  # where the COCO file was written (a fallback when the output could not be)
    note: str = ""  # one line when the output went to a fallback, else ''


def scan_folder(folder: str | os.PathLike, *, exclude: Sequence[str | os.PathLike] = ()) -> FolderScan:
    """All image files under `folder` and the other files, by the one folder walker's rule (segmentation/folders.py)."""
    root = Path(folder)
    excluded = {os.path.normcase(os.path.abspath(p)) for p in exclude}
    images, others = [], []
    walk = walk_folder(root)
    for rel in walk.names:
        path = root / rel
        if os.path.normcase(os.path.abspath(path)) in excluded:
            continue
        if is_image_name(rel):
            images.append((rel, path))
        else:
            others.append(rel)
    return FolderScan(images, others, walk.report_lines())


def images_to_label(existing: CocoDataset | None, names: Sequence[str], mode: RelabelMode) -> list[str]:
    """The image names a run should label, given what the existing COCO file holds."""
    if existing is None or mode is RelabelMode.ALL:
        return list(names)
    by_name = {img.file_name: img for img in existing.images}
    selected = []
    for name in names:
        image = by_name.get(name)
        if image is None or len(image.instances) == 0:
            selected.append(name)
        elif mode is RelabelMode.AUTO and all(p == Provenance.AUTO for p in image.instances.provenance):
            selected.append(name)
    return selected


def load_existing(out_path: str | os.PathLike) -> CocoDataset | None:
    """The COCO file a previous run wrote, or None when there is none (CocoFormatError if it is broken)."""
    return read_coco(out_path) if Path(out_path).exists() else None


def save_progress(out_path: str | os.PathLike, dataset: CocoDataset) -> None:
    """Write the results so far during a long run; a full disk only postpones it: labelling goes on, the results
    stay in memory and the final write has fallbacks."""
    try:
        write_coco(out_path, dataset)
    except OSError as exc:
        if not is_disk_error(exc):
            raise


def merge_labeled(dataset: CocoDataset, on_disk: Sequence[str], new: Mapping[str, CocoImage]) -> CocoDataset:
    """The file a run writes: the images on disk in folder order, each the newly labelled one or else the one
    `dataset` (the existing file, with the run's categories) holds, then the images of `dataset` no longer
    on disk (never dropped: they are not ours to remove)."""
    old = {img.file_name: img for img in dataset.images}
    images = [new.get(name) or old.get(name) for name in on_disk]
    on_disk_set = set(on_disk)
    images += [img for name, img in old.items() if name not in on_disk_set]
    return CocoDataset(dataset.categories, [img for img in images if img is not None], dataset.info, dataset.licenses)


class LabelModel(Protocol):
    """What labeling needs of a model: its class names and a batch prediction (YolactEngine fits)."""

    @property
    def class_names(self) -> tuple[str, ...]: ...

    def predict(self, images: list[np.ndarray]) -> list[Detections]: ...


def prelabel_folder(
    scan: FolderScan,
    out_path: str | os.PathLike,
    todo: Sequence[str],
    load_model: Callable[[], LabelModel],
    *,
    existing: CocoDataset | None = None,
    mapping: ClassMapping | None = None,
    batch_size: int = 1,
    tolerance: float = DEFAULT_TOLERANCE,
    min_area: float = DEFAULT_MIN_AREA,
    progress: Callable[[int, int, str], None] | None = None,
    on_unreadable: Callable[[str], None] | None = None,
    save_every_s: float = 60.0,
    workers: int = 0,
) -> LabelReport:
    """Label the images named in `todo` and write the COCO file (also every `save_every_s` seconds,
    so an interrupted run keeps its work and a re-run carries on where it stopped).

    `load_model` is called once, when the first image has been read (a folder whose only
    unlabeled files are unreadable never loads the model). `progress(done, total, name)`
    follows the batches; `on_unreadable(message)` hears of each image that cannot be read
    (it is skipped). Nothing is written when no image was labeled.

    Images in `existing` that are not relabeled are written back unchanged, including ones
    no longer on disk. Categories: the existing ones, then every label the mapping can
    produce from the model's classes (so the category list does not depend on what was found),
    numbered 1..N, or for a COCO-trained model by their official COCO ids (as `predict` writes).
    When the final write fails for lack of space or permission, the file goes to a fallback
    (`report.written`, `report.note`); OutputWriteError when no place could take it.

    `workers` > 0 pipelines the run (segmentation/pipeline): images decoded in threads and their
    masks traced in that many processes while the model works on the next batch; the file is the
    same, byte for byte, as with 0 (sequential).
    """
    mapping = mapping or ClassMapping()
    batch_size = max(1, batch_size)
    state: dict = {"dataset": existing or CocoDataset(())}
    new: dict[str, CocoImage] = {}
    report = LabelReport()
    todo_set = set(todo)
    paths = [(name, path) for name, path in scan.images if name in todo_set]

    def start_model() -> None:
        model = load_model()
        state["model"] = model
        state["class_map"] = {name: mapping.label_for(name) for name in model.class_names}
        labels = mapping.project_labels(model.class_names)
        coco_model = tuple(model.class_names) == COCO_CLASSES  # its labels keep their official COCO ids
        state["dataset"] = state["dataset"].with_categories(
            labels, category_ids_for_labels(labels) if coco_model else None
        )

    def assemble() -> CocoDataset:
        return merge_labeled(state["dataset"], [name for name, _ in scan.images], new)

    def predict(images: list[np.ndarray]) -> list[Detections]:
        if "model" not in state:
            start_model()
            state["previous"] = {img.file_name: img for img in state["dataset"].images}
        return state["model"].predict(images)

    def postprocess() -> Callable[[str, Detections], Instances]:
        return functools.partial(
            auto_instances,
            class_map=state["class_map"],
            class_names=state["dataset"].category_names,
            tolerance=tolerance,
            min_area=min_area,
        )

    last_save = time.monotonic()
    try:
        with closing(run_pipeline(paths, predict, postprocess, batch_size=batch_size, workers=workers)) as results:
            for result in results:
                name = result.name
                if result.error is not None:
                    report.failed.append(result.error)
                    if on_unreadable is not None:
                        on_unreadable(result.error)
                else:
                    inst = result.value
                    height, width = result.image_size
                    previous = state["previous"].get(name)
                    new[name] = CocoImage(
                        name, width, height, inst, previous.id if previous else None, previous.extra if previous else {}
                    )
                    report.labeled += 1
                    report.objects += len(inst)
                if not result.last_in_batch:
                    continue
                if progress is not None:
                    progress(result.index + 1, len(paths), name)
                if new and time.monotonic() - last_save > save_every_s:
                    save_progress(out_path, assemble())
                    last_save = time.monotonic()
    except KeyboardInterrupt as exc:
        report.interrupted, report.interruption = True, exc
    final = assemble()
    if new:
        written = write_with_fallback(out_path, lambda path: write_coco(path, final))
        report.written, report.note = written.path, written.note()
    report.kept = sum(1 for img in final.images if img.file_name not in new and len(img.instances))
    return report


def auto_instances(
    name: str,
    detections: Detections,
    *,
    class_map: Mapping[str, str | None],
    class_names: Sequence[str],
    tolerance: float,
    min_area: float,
) -> Instances:
    """One image's detections as COCO-ready auto instances (the per-image post-processing; runs in a
    worker process in a pipelined run, so it is a module-level function of picklable arguments)."""
    inst = detections.to_instances(class_map=class_map, class_names=class_names, tolerance=tolerance, min_area=min_area)
    return inst.without_field("coefficients").without_field("detection_index")
