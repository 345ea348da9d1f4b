"""An annotated image folder in memory: categories, images with their Instances, COCO extras."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from protolabel.segmentation.geometry.instances import Instances


@dataclass(frozen=True)
class Category:
    """A COCO category; `id` >= 1 (COCO has no background class)."""

    id: int
    name: str
    supercategory: str = ""


@dataclass(frozen=True)
class CocoImage:
    """One image: its path relative to the dataset folder ('/'-separated), decoded size and objects.

    `instances.classes` index the dataset's `categories`. `extra` keeps other keys of the
    COCO image record (license, coco_url, ...) so an import can be written back as it was.
    `source_name` is the file name exactly as the COCO file wrote it when that differs from
    `file_name` (absolute, as labelme2coco writes, or with backslashes): a reader that knows
    the image folder decides whether such a path lies inside it.
    """

    file_name: str
    width: int
    height: int
    instances: Instances
    id: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    source_name: str | None = None

    def __post_init__(self) -> None:
        if not self.file_name or "\\" in self.file_name or self.file_name.startswith("/"):
            raise ValueError(f"file_name must be a relative '/'-separated path, got {self.file_name!r}")
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"{self.file_name}: image size must be positive, got {self.width}x{self.height}")
        if self.instances.image_size != (self.height, self.width):
            h, w = self.instances.image_size
            raise ValueError(f"{self.file_name}: instances are for a {w}x{h} image, not {self.width}x{self.height}")


@dataclass
class CocoDataset:
    """Categories and images of one annotation file; `import_notes` says what reading it changed."""

    categories: tuple[Category, ...]
    images: list[CocoImage] = field(default_factory=list)
    info: Mapping[str, Any] | None = None
    licenses: Sequence[Any] | None = None
    import_notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.categories = tuple(self.categories)
        ids = [c.id for c in self.categories]
        if any(i < 1 for i in ids) or len(set(ids)) != len(ids):
            raise ValueError(f"category ids must be unique and >= 1, got {ids}")

    @property
    def category_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.categories)

    @property
    def num_annotations(self) -> int:
        return sum(len(img.instances) for img in self.images)

    def image_index(self) -> dict[str, int]:
        """Position of each image by file name."""
        return {img.file_name: i for i, img in enumerate(self.images)}

    def empty_instances(self, height: int, width: int) -> Instances:
        """No objects, for an image of this size, with this dataset's class names."""
        return Instances.empty((height, width), self.category_names)

    def with_categories(self, names: Sequence[str], ids: Sequence[int] | None = None) -> CocoDataset:
        """This dataset with categories for `names` appended where missing: with the matching id of
        `ids` when given and free (e.g. official COCO ids), else a new id after the largest."""
        existing = set(self.category_names)
        wanted = dict(zip(names, ids)) if ids is not None else {}
        taken = {c.id for c in self.categories}
        added = []
        for name in dict.fromkeys(names):
            if name not in existing:
                new_id = wanted.get(name)
                if new_id is None or new_id < 1 or new_id in taken:
                    new_id = max(taken, default=0) + 1
                added.append(Category(new_id, name))
                taken.add(new_id)
        if not added:
            return self
        categories = self.categories + tuple(added)
        names_all = tuple(c.name for c in categories)
        images = [
            CocoImage(
                img.file_name,
                img.width,
                img.height,
                img.instances.with_class_names(names_all),
                img.id,
                img.extra,
                img.source_name,
            )
            for img in self.images
        ]
        return CocoDataset(categories, images, self.info, self.licenses, self.import_notes)
