"""Training data: a COCO file (parsed by `segmentation.coco`) plus its image folder, as YOLACT targets.

The COCO reader accepts what our export writes and what other tools write (polygons, RLE,
holes, iscrowd, bbox-only rectangles). Here each object is rasterised with pycocotools
(holes cut out) inside its own box only, so a large photo with many objects never needs
one full-size mask per object. Crowd objects are kept apart: they are not training
targets, but anchors on them are not punished as background either (as the original);
`crowd_as_objects=True` trains on them as ordinary objects (CVAT-style exports mark every
mask iscrowd 1). Image paths are resolved under the images folder and a file name that
leads outside it (`..`, an absolute path elsewhere, a symlink) is refused, never opened.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from protolabel.segmentation.coco import CocoDataset, CocoFormatError, CocoImage, read_coco
from protolabel.segmentation.folders import path_inside
from protolabel.segmentation.geometry.rasterise import shape_to_mask_crop
from protolabel.segmentation.geometry.shapes import Shape
from protolabel.segmentation.images import ImageReadError, read_image

MAX_LISTED = 5  # missing files named in an error message


class DatasetError(Exception):
    """The training or validation data cannot be used; the message says which file and why."""


@dataclass(frozen=True)
class ObjectMask:
    """One object's binary mask inside its integer box: pixel (x0 + i, y0 + j) is `mask[j, i]`."""

    x0: int
    y0: int
    mask: np.ndarray  # bool [h, w]

    def full(self, height: int, width: int) -> np.ndarray:
        """The mask placed in a bool [height, width] image."""
        out = np.zeros((height, width), dtype=bool)
        h, w = self.mask.shape
        out[self.y0 : self.y0 + h, self.x0 : self.x0 + w] = self.mask
        return out


@dataclass(frozen=True)
class ImageSample:
    """One training image as read from disk: objects in original pixels, crowd regions apart."""

    image: np.ndarray  # BGR uint8 [H, W, 3]
    boxes: np.ndarray  # float64 [n, 4] (x1, y1, x2, y2) pixels
    labels: np.ndarray  # int64 [n] 0-based class index
    masks: tuple[ObjectMask, ...]  # n masks
    crowd_boxes: np.ndarray  # float64 [m, 4] pixels: regions that are neither object nor background

    def __len__(self) -> int:
        return len(self.labels)


class TrainingImages:
    """The images of one COCO dataset with their objects mapped onto a fixed class list.

    `class_names` fixes the model's class order (default: the file's categories in file
    order, as our export and its YOLACT config snippet number them). A validation file must
    use a subset of those names; its category ids need not match.
    """

    def __init__(
        self,
        dataset: CocoDataset,
        image_dir: str | os.PathLike,
        class_names: Sequence[str] | None = None,
        source: str = "",
        *,
        crowd_as_objects: bool = False,
    ) -> None:
        self.dataset = _crowds_as_objects(dataset) if crowd_as_objects else dataset
        self.image_dir = Path(image_dir)
        self.source = source or "COCO data"
        self.crowd_as_objects = crowd_as_objects
        self.class_names = tuple(dataset.category_names if class_names is None else class_names)
        if not self.class_names:
            raise DatasetError(f"{self.source}: no categories, nothing to train")
        if len(set(self.class_names)) != len(self.class_names):
            raise DatasetError(f"{self.source}: duplicate category names {list(self.class_names)}")
        index = {name: i for i, name in enumerate(self.class_names)}
        unknown = [name for name in dataset.category_names if name not in index]
        if unknown:
            raise DatasetError(
                f"{self.source}: categories {unknown} are not among the training classes {list(self.class_names)}"
            )
        self._class_of = np.array([index[name] for name in dataset.category_names], dtype=np.int64)
        self._paths = _resolve_image_paths(dataset.images, self.image_dir, self.source)
        missing = [img.file_name for img, path in zip(dataset.images, self._paths) if not path.is_file()]
        if missing:
            more = f" and {len(missing) - MAX_LISTED} more" if len(missing) > MAX_LISTED else ""
            raise DatasetError(
                f"{self.image_dir}: {len(missing)} image file(s) of {self.source} not found: "
                f"{', '.join(missing[:MAX_LISTED])}{more}"
            )

    @classmethod
    def from_file(
        cls,
        coco_path: str | os.PathLike,
        image_dir: str | os.PathLike,
        class_names: Sequence[str] | None = None,
        *,
        crowd_as_objects: bool = False,
    ) -> TrainingImages:
        """Read a COCO file; any problem becomes a DatasetError naming the file."""
        try:
            dataset = read_coco(coco_path)
        except CocoFormatError as exc:
            raise DatasetError(str(exc)) from None
        except OSError as exc:
            raise DatasetError(f"{coco_path}: cannot read ({exc.strerror or exc})") from None
        return cls(dataset, image_dir, class_names, source=str(coco_path), crowd_as_objects=crowd_as_objects)

    def __len__(self) -> int:
        return len(self.dataset.images)

    @property
    def images(self) -> list[CocoImage]:
        return self.dataset.images

    @property
    def import_notes(self) -> tuple[str, ...]:
        return self.dataset.import_notes

    def path(self, index: int) -> Path:
        """The image file (symlinks resolved), checked to lie inside the images folder."""
        return self._paths[index]

    def has_objects(self, index: int) -> bool:
        """True when the image has at least one non-crowd object with an outline (a training target)."""
        inst = self.dataset.images[index].instances
        return any(not inst.crowd[i] and not inst.shapes[i].is_empty() for i in range(len(inst)))

    def crowd_counts(self) -> tuple[int, int]:
        """(crowd objects with an outline, images holding them): what training leaves out
        (none with crowd_as_objects)."""
        per_image = [
            sum(
                1
                for i in range(len(img.instances))
                if img.instances.crowd[i] and not img.instances.shapes[i].is_empty()
            )
            for img in self.dataset.images
        ]
        return sum(per_image), sum(1 for n in per_image if n)

    def trainable_indices(self) -> list[int]:
        """Indices of the images that have a training target; DatasetError saying why when none has."""
        found = [i for i in range(len(self)) if self.has_objects(i)]
        if found:
            return found
        message = f"{self.source}: no training image has an object to learn from"
        objects, images = self.crowd_counts()
        if objects:
            message += (
                f": its {objects} object(s) in {images} image(s) are all crowd regions (iscrowd 1, as "
                "CVAT-style exports mark every mask), which training leaves out; to learn from them as "
                "ordinary objects use --crowd-as-objects (crowd_as_objects=True)"
            )
        raise DatasetError(message)

    def subset(self, indices: Sequence[int]) -> TrainingImages:
        """The same data restricted to some images (same class list)."""
        images = [self.dataset.images[i] for i in indices]
        dataset = CocoDataset(
            self.dataset.categories, images, self.dataset.info, self.dataset.licenses, self.dataset.import_notes
        )
        return TrainingImages(
            dataset, self.image_dir, self.class_names, self.source, crowd_as_objects=self.crowd_as_objects
        )

    def read(self, index: int) -> np.ndarray:
        """The image as BGR uint8, checked against the size the COCO file gives."""
        record = self.dataset.images[index]
        path = self.path(index)
        try:
            image = read_image(path)
        except ImageReadError as exc:
            raise DatasetError(str(exc)) from None
        if image.shape[:2] != (record.height, record.width):
            h, w = image.shape[:2]
            raise DatasetError(
                f"{path}: the image is {w}x{h} but {self.source} says {record.width}x{record.height} "
                "(was it rotated or resized after annotating?)"
            )
        return image

    def load(self, index: int) -> ImageSample:
        """Image and objects of one image; objects whose outline covers no pixel are left out."""
        image = self.read(index)
        inst = self.dataset.images[index].instances
        height, width = image.shape[:2]
        boxes, labels, masks, crowd_boxes = [], [], [], []
        for i in range(len(inst)):
            shape: Shape = inst.shapes[i]
            if shape.is_empty():
                continue
            box = _clipped_box(shape, width, height)
            if box is None:
                continue
            if inst.crowd[i]:
                crowd_boxes.append(box)
                continue
            mask = _rasterise(shape, box, height, width)
            if mask is None:
                continue
            boxes.append(box)
            labels.append(self._class_of[inst.classes[i]])
            masks.append(mask)
        return ImageSample(
            image=image,
            boxes=np.asarray(boxes, dtype=np.float64).reshape(-1, 4),
            labels=np.asarray(labels, dtype=np.int64),
            masks=tuple(masks),
            crowd_boxes=np.asarray(crowd_boxes, dtype=np.float64).reshape(-1, 4),
        )


def _crowds_as_objects(dataset: CocoDataset) -> CocoDataset:
    """The dataset with every crowd region an ordinary object, so training, validation and the
    evaluation's ground truth all count them as objects."""
    images = [
        replace(img, instances=img.instances.with_fields(crowd=np.zeros(len(img.instances), bool)))
        if img.instances.crowd.any()
        else img
        for img in dataset.images
    ]
    return CocoDataset(dataset.categories, images, dataset.info, dataset.licenses, dataset.import_notes)


def _resolve_image_paths(images: Sequence[CocoImage], image_dir: Path, source: str) -> list[Path]:
    """The real path of each image: relative names under `image_dir`, absolute ones as they are;
    DatasetError naming every name that resolves (symlinks followed) outside `image_dir`."""
    paths, outside = [], []
    for img in images:
        name = (img.source_name or img.file_name).replace("\\", "/")
        real = path_inside(image_dir, name)
        if real is None:
            outside.append(img.source_name or img.file_name)
        else:
            paths.append(real)
    if outside:
        more = f" and {len(outside) - MAX_LISTED} more" if len(outside) > MAX_LISTED else ""
        raise DatasetError(
            f"{source}: {len(outside)} image file name(s) lead outside the images folder {image_dir} and are "
            f"not read: {', '.join(map(repr, outside[:MAX_LISTED]))}{more}"
        )
    return paths


def _clipped_box(shape: Shape, width: int, height: int) -> tuple[float, float, float, float] | None:
    x1, y1, x2, y2 = shape.bounds()
    x1, x2 = max(0.0, x1), min(float(width), x2)
    y1, y2 = max(0.0, y1), min(float(height), y2)
    if x2 - x1 <= 0 or y2 - y1 <= 0:
        return None
    return (x1, y1, x2, y2)


def _rasterise(shape: Shape, box: tuple[float, float, float, float], height: int, width: int) -> ObjectMask | None:
    """The shape's mask inside its integer box (pycocotools' polygon rule on image coordinates, holes cut out)."""
    x0, y0 = int(np.floor(box[0])), int(np.floor(box[1]))
    x1, y1 = int(np.ceil(box[2])), int(np.ceil(box[3]))
    mask = shape_to_mask_crop(shape, height, width, (x0, y0, x1, y1))
    if not mask.any():
        return None
    return ObjectMask(x0, y0, mask)


def validation_count(n: int, fraction: float) -> int:
    """How many of n images a validation split holds out: never more than the fraction asked, rounded down.

    A fine-tune right after the first corrections has few images: rounding up (or "at least one") would hold
    out half of two images, so with the default 0.1 nothing is held out under ten images.
    """
    if not 0.0 <= fraction < 1.0:
        raise DatasetError(f"validation fraction must be in [0, 1), got {fraction}")
    # The epsilon keeps products such as 100 * 0.29 = 28.999999999999996 at the count a person computes.
    return max(0, min(n - 1, math.floor(n * fraction + 1e-9)))


def split_for_validation(images: TrainingImages, fraction: float, seed: int) -> tuple[TrainingImages, TrainingImages]:
    """A reproducible (train, validation) split by image, holding out `validation_count` images."""
    n = len(images)
    count = validation_count(n, fraction)
    order = np.random.default_rng(seed).permutation(n)
    val = sorted(order[:count].tolist())
    train = sorted(order[count:].tolist())
    return images.subset(train), images.subset(val)
