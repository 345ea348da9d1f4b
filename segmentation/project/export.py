"""Export a project's annotations as a COCO file (through segmentation.coco), all or verified only."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from segmentation.coco import Category, CocoDataset, CocoImage, write_coco
from segmentation.geometry.instances import Instances
from segmentation.images import ImageReadError, read_image
from segmentation.project.records import ImageStatus
from segmentation.project.store import ProjectStore

EXPORTED_STATUSES = (ImageStatus.AUTO_LABELED, ImageStatus.EDITED, ImageStatus.VERIFIED)


@dataclass(frozen=True)
class ExportSummary:
    path: Path
    images: int
    annotations: int
    skipped: tuple[str, ...]  # images that could not be read for their size, with the reason


def project_dataset(
    store: ProjectStore,
    *,
    verified_only: bool = False,
    labels: tuple[str, ...] = (),
    progress: Callable[[int, int], None] | None = None,
) -> tuple[CocoDataset, list[str]]:
    """The project as a CocoDataset. Images count when a person or the model labelled them
    (never-labelled images are left out: an empty image in a COCO file says "nothing here")."""
    statuses = (ImageStatus.VERIFIED,) if verified_only else EXPORTED_STATUSES
    names = [n for n in store.annotated_images(statuses) if (store.folder / n).is_file()]
    per_image = [(n, store.objects(n)) for n in names]
    used = dict.fromkeys(o.label for _, objects in per_image for o in objects)
    class_names = tuple(dict.fromkeys((*labels, *used)))
    categories = tuple(Category(i + 1, name) for i, name in enumerate(class_names))
    index = {name: i for i, name in enumerate(class_names)}
    images, skipped = [], []
    for done, (name, objects) in enumerate(per_image, start=1):
        size = store.image_size(name)
        if size is None:
            try:
                size = read_image(store.folder / name).shape[:2]
            except ImageReadError as exc:
                skipped.append(str(exc))
                continue
        instances = Instances(
            size,
            class_names=class_names,
            shapes=[o.shape for o in objects],
            classes=[index[o.label] for o in objects],
            scores=[math.nan if o.score is None else o.score for o in objects],
            provenance=[o.provenance.value for o in objects],
        )
        images.append(CocoImage(name, width=size[1], height=size[0], instances=instances))
        if progress:
            progress(done, len(per_image))
    return CocoDataset(categories, images), skipped


def export_coco(
    store: ProjectStore,
    path: str | Path,
    *,
    verified_only: bool = False,
    labels: tuple[str, ...] = (),
    progress: Callable[[int, int], None] | None = None,
) -> ExportSummary:
    """Write the COCO file atomically; category ids follow the project's label order (1..N)."""
    dataset, skipped = project_dataset(store, verified_only=verified_only, labels=labels, progress=progress)
    data = write_coco(path, dataset)
    return ExportSummary(Path(path), len(data["images"]), len(data["annotations"]), tuple(skipped))
