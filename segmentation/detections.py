"""The typed per-image result of the YOLACT engine."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from protolabel.segmentation.geometry.box_masks import BoxMasks
from protolabel.segmentation.geometry.instances import Instances
from protolabel.segmentation.geometry.outlines import DEFAULT_MIN_AREA, DEFAULT_TOLERANCE
from protolabel.segmentation.geometry.provenance import Provenance


@dataclass(frozen=True, eq=False)
class Detections:
    """Detections for one image, in descending score order, plus what YOLACT built them from.

    `boxes` are (x1, y1, x2, y2) in original pixels, sanitised as the original does (corners
    ordered, x1/y1 clamped at 0, x2/y2 clamped at the image size) but not rounded; `boxes_rel`
    are the decoded boxes in relative units, exactly what the mask crop used. `masks` are
    box-local: each detection's binary mask at original resolution, only inside the window its
    box reaches (never a [D, H, W] stack; `masks.dense(i)` for one full-size mask).
    """

    image_size: tuple[int, int]  # (height, width) of the original image
    classes: np.ndarray  # int64 [D], 0-based model class index
    scores: np.ndarray  # float32 [D]
    boxes: np.ndarray  # float32 [D, 4], pixels
    boxes_rel: np.ndarray  # float32 [D, 4], relative, unclipped
    masks: BoxMasks  # D binary masks at original resolution, each a crop + its (x0, y0)
    coefficients: np.ndarray  # float32 [D, k], after tanh
    prototypes: np.ndarray  # float32 [h, w, k], after ReLU
    class_names: tuple[str, ...]  # names of all model classes, index = class
    category_ids: tuple[int, ...]  # category id of every model class, index = class

    def __post_init__(self) -> None:
        if isinstance(self.masks, np.ndarray) and self.masks.ndim == 3:
            # Hand-built detections (tests, fake models) may give a dense stack: kept box-local.
            object.__setattr__(self, "masks", BoxMasks.from_dense(self.masks))
        if not isinstance(self.masks, BoxMasks):
            raise TypeError(
                f"Detections.masks must be BoxMasks or a bool [D, H, W] array, got {type(self.masks).__name__}"
            )
        if len(self.masks) != len(self.scores) or self.masks.image_size != tuple(self.image_size):
            raise ValueError(
                f"{len(self.masks)} masks of a {self.masks.image_size} image for "
                f"{len(self.scores)} detections of a {tuple(self.image_size)} image"
            )

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    @property
    def labels(self) -> list[str]:
        """Class name of each detection."""
        return [self.class_names[c] for c in self.classes]

    @property
    def detection_category_ids(self) -> np.ndarray:
        """Category id of each detection (COCO ids for COCO-trained models)."""
        ids = np.asarray(self.category_ids, dtype=np.int64)
        return ids[self.classes] if len(self) else np.zeros(0, dtype=np.int64)

    @property
    def integer_boxes(self) -> np.ndarray:
        """Boxes truncated to int64 as the original's postprocess does (x1 > x2 is possible)."""
        return self.boxes.astype(np.int64)

    def soft_mask(self, index: int, *, crop: bool = True, coefficients: np.ndarray | None = None) -> np.ndarray:
        """Float32 [H, W] mask probability of one detection at the original size.

        With `crop=False` the mask is not limited to the box: it shows where YOLACT's mask
        would leak outside it. `coefficients` replaces the detection's own (for live editing).
        """
        from protolabel.segmentation.yolact.masks import (  # torch: kept off worker imports
            assemble_soft_masks,
            upsample_to_image,
        )

        coeffs = self.coefficients[index] if coefficients is None else np.asarray(coefficients, np.float32)
        box = self.boxes_rel[index] if crop else None
        soft = assemble_soft_masks(self.prototypes, coeffs[None], None if box is None else box[None])
        return upsample_to_image(soft, self.image_size)[0]

    def select(self, keep: np.ndarray) -> Detections:
        """A new Detections with only the detections picked by an index or boolean array."""
        keep = np.asarray(keep)
        return Detections(
            image_size=self.image_size,
            classes=self.classes[keep],
            scores=self.scores[keep],
            boxes=self.boxes[keep],
            boxes_rel=self.boxes_rel[keep],
            masks=self.masks.select(keep),
            coefficients=self.coefficients[keep],
            prototypes=self.prototypes,
            class_names=self.class_names,
            category_ids=self.category_ids,
        )

    def to_instances(
        self,
        *,
        class_map: Mapping[str, str] | None = None,
        class_names: Sequence[str] | None = None,
        tolerance: float = DEFAULT_TOLERANCE,
        min_area: float = DEFAULT_MIN_AREA,
        provenance: str = Provenance.AUTO.value,
    ) -> Instances:
        """Auto-labels from the engine: masks become polygon shapes, classes become project labels.

        `class_map` maps model class names to project labels; detections of unmapped classes are
        dropped (None keeps every class under its model name). `class_names` is the project's
        label list that `classes` index into (default: the mapped labels, else the model's
        names); a mapped label missing from it is an error. Detections whose mask is empty or
        only specks are dropped. Extra fields: `coefficients` and `detection_index` (the row
        in these detections), for the prototype inspector.
        """
        if class_map is None:
            targets = list(self.class_names)
        else:
            targets = [class_map.get(name) for name in self.class_names]
        if class_names is None:
            class_names = list(self.class_names) if class_map is None else list(dict.fromkeys(class_map.values()))
        index_of = {name: i for i, name in enumerate(class_names)}
        missing = sorted({t for t in targets if t is not None and t not in index_of})
        if missing:
            raise ValueError(f"labels {missing} are not in the class names {list(class_names)}")
        shapes, classes, keep = [], [], []
        for i in range(len(self)):
            target = targets[int(self.classes[i])]
            if target is None:
                continue
            shape = self.masks.to_shape(i, tolerance=tolerance, min_area=min_area)
            if shape.is_empty():
                continue
            shapes.append(shape)
            classes.append(index_of[target])
            keep.append(i)
        keep_idx = np.asarray(keep, dtype=np.int64)
        return Instances(
            self.image_size,
            class_names=class_names,
            shapes=shapes,
            classes=classes,
            scores=self.scores[keep_idx],
            provenance=provenance,
            coefficients=self.coefficients[keep_idx],
            detection_index=keep_idx,
        )
