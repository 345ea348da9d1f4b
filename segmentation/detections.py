"""The typed per-image result of the YOLACT engine."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segmentation.yolact.masks import assemble_soft_masks, upsample_to_image


@dataclass(frozen=True, eq=False)
class Detections:
    """Detections for one image, in descending score order, plus what YOLACT built them from.

    `boxes` are (x1, y1, x2, y2) in original pixels, sanitised as the original does (corners
    ordered, x1/y1 clamped at 0, x2/y2 clamped at the image size) but not rounded; `boxes_rel`
    are the decoded boxes in relative units, exactly what the mask crop used.
    """

    image_size: tuple[int, int]  # (height, width) of the original image
    classes: np.ndarray  # int64 [D], 0-based model class index
    scores: np.ndarray  # float32 [D]
    boxes: np.ndarray  # float32 [D, 4], pixels
    boxes_rel: np.ndarray  # float32 [D, 4], relative, unclipped
    masks: np.ndarray  # bool [D, H, W]
    coefficients: np.ndarray  # float32 [D, k], after tanh
    prototypes: np.ndarray  # float32 [h, w, k], after ReLU
    class_names: tuple[str, ...]  # names of all model classes, index = class
    category_ids: tuple[int, ...]  # category id of every model class, index = class

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
            masks=self.masks[keep],
            coefficients=self.coefficients[keep],
            prototypes=self.prototypes,
            class_names=self.class_names,
            category_ids=self.category_ids,
        )
