"""Training augmentation as the original's SSDAugmentation, computed as one warp per image.

The original applies, in order: photometric distortion, expand (place the image on a mean-
coloured canvas up to 4x larger, p = 1/2), random sample crop, random mirror (p = 1/2) and a
stretch to S x S. Expand, crop, mirror and stretch are all axis-aligned affine maps, so here
they are first decided on the boxes alone, then the image and every object mask are warped
once, straight from the original pixels to S x S (bilinear, no antialiasing, like the
original's cv2.resize). A 4000 x 3000 photo therefore never becomes a 16000 x 12000 canvas
with a mask per object. The colour distortion is applied to the warped image (it works per
pixel) and the canvas fill is kept at the mean colour, as in the original.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from protolabel.segmentation.training.dataset import ImageSample
from protolabel.segmentation.yolact.transform import MEAN_BGR

DISCARD_BOX_SIZE = 4 / 550  # boxes narrower or lower than this fraction of the input are dropped
MAX_ATTEMPTS = 10  # augmentations tried before falling back to a plain resize
CROP_TRIALS = 50
CROP_MODES = 6  # the original draws one of six crop modes; one of them keeps the whole image


@dataclass(frozen=True)
class TrainSample:
    """One augmented image, ready for the network and the loss."""

    image: np.ndarray  # float32 [S, S, 3] BGR, 0..255 (normalised later, as at inference)
    boxes: np.ndarray  # float32 [n, 4] relative (x1, y1, x2, y2)
    labels: np.ndarray  # int64 [n] 0-based class
    masks: np.ndarray  # uint8 [n, S, S] 0/1
    crowd_boxes: np.ndarray  # float32 [m, 4] relative


@dataclass
class _Geometry:
    """Where the source image lands: canvas x = source x + tx, then optional mirror, then scale to S."""

    width: float  # canvas size
    height: float
    tx: float = 0.0
    ty: float = 0.0
    mirror: bool = False

    def matrix(self, size: int) -> np.ndarray:
        """2x3 map from source pixel index to output pixel index (pixel centres at +0.5)."""
        sx, sy = size / self.width, size / self.height
        if self.mirror:
            a, b = -sx, sx * (self.width - 0.5 - self.tx) - 0.5
        else:
            a, b = sx, sx * (0.5 + self.tx) - 0.5
        return np.array([[a, 0.0, b], [0.0, sy, sy * (0.5 + self.ty) - 0.5]], dtype=np.float64)


class TrainAugmentation:
    """ImageSample -> TrainSample at `size` x `size`; `augment=False` only stretches (for tests and
    evaluation-like data)."""

    def __init__(self, size: int, augment: bool = True) -> None:
        self.size = size
        self.augment = augment

    def __call__(self, sample: ImageSample, rng: np.random.Generator) -> TrainSample:
        if self.augment and len(sample):
            for _ in range(MAX_ATTEMPTS):
                out = self._augmented(sample, rng)
                if out is not None:
                    return out
        return self._render(
            sample,
            _Geometry(sample.image.shape[1], sample.image.shape[0]),
            np.arange(len(sample)),
            np.arange(len(sample.crowd_boxes)),
            None,
        )

    def _augmented(self, sample: ImageSample, rng: np.random.Generator) -> TrainSample | None:
        height, width = sample.image.shape[:2]
        geometry = _Geometry(width, height)
        boxes = np.concatenate([sample.boxes, sample.crowd_boxes])  # canvas coordinates from here on
        is_crowd = np.r_[np.zeros(len(sample), bool), np.ones(len(sample.crowd_boxes), bool)]
        photometric = PhotometricDistortion.draw(rng)
        if rng.integers(2):
            _expand(geometry, boxes, rng)
        keep = _random_crop(geometry, boxes, is_crowd, rng)
        geometry.mirror = bool(rng.integers(2))
        object_ids = keep[~is_crowd[keep]]
        crowd_ids = keep[is_crowd[keep]] - len(sample)
        return self._render(sample, geometry, object_ids, crowd_ids, photometric)

    def _render(
        self,
        sample: ImageSample,
        geometry: _Geometry,
        object_ids: np.ndarray,
        crowd_ids: np.ndarray,
        photometric: PhotometricDistortion | None,
    ) -> TrainSample | None:
        """Warp image and masks; boxes go through the same map. None when an augmentation kept no object."""
        size = self.size
        matrix = geometry.matrix(size)
        image = cv2.warpAffine(
            sample.image,
            matrix,
            (size, size),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=MEAN_BGR,
        ).astype(np.float32)
        if photometric is not None:
            inside = _coverage(matrix, size, sample.image.shape[:2])[..., None]
            image = photometric.apply(image) * inside + np.asarray(MEAN_BGR, np.float32) * (1 - inside)

        boxes = _relative_boxes(sample.boxes[object_ids], geometry)
        crowd = _relative_boxes(sample.crowd_boxes[crowd_ids], geometry)
        big_enough = ((boxes[:, 2] - boxes[:, 0]) > DISCARD_BOX_SIZE) & ((boxes[:, 3] - boxes[:, 1]) > DISCARD_BOX_SIZE)
        object_ids, boxes = object_ids[big_enough], boxes[big_enough]
        if photometric is not None and not len(object_ids):
            return None
        masks = np.zeros((len(object_ids), size, size), dtype=np.uint8)
        for row, i in enumerate(object_ids):
            obj = sample.masks[i]
            shifted = matrix.copy()  # the mask crop starts at (x0, y0) of the source
            shifted[:, 2] += matrix[:, :2] @ np.array([obj.x0, obj.y0], dtype=np.float64)
            warped = cv2.warpAffine(
                obj.mask.astype(np.uint8) * 255,
                shifted,
                (size, size),
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_CONSTANT,
                borderValue=0,
            )
            masks[row] = warped > 127
        return TrainSample(
            image=np.ascontiguousarray(image, dtype=np.float32),
            boxes=boxes.astype(np.float32),
            labels=sample.labels[object_ids].astype(np.int64),
            masks=masks,
            crowd_boxes=crowd.astype(np.float32),
        )


def _coverage(matrix: np.ndarray, size: int, source_size: tuple[int, int]) -> np.ndarray:
    """float32 [size, size]: how much of each output pixel's bilinear sample comes from the image, not the fill.

    The map is axis-aligned, so this is the outer product of one profile per axis: an output
    pixel reads source position p; the weight of real pixels is 1 inside [0, n-1] and falls
    linearly to 0 over one pixel beyond either end (what warping an all-ones image gives).
    """
    profiles = []
    for axis, n in ((1, source_size[0]), (0, source_size[1])):
        scale, offset = matrix[axis, axis], matrix[axis, 2]
        position = (np.arange(size, dtype=np.float64) - offset) / scale
        profiles.append(np.clip(np.minimum(position + 1, n - position), 0, 1).astype(np.float32))
    return profiles[0][:, None] * profiles[1][None, :]


def _relative_boxes(boxes: np.ndarray, geometry: _Geometry) -> np.ndarray:
    """Source-pixel boxes -> relative output boxes: shift onto the canvas, clip to it, mirror, divide by its size."""
    out = boxes.astype(np.float64).reshape(-1, 4).copy()
    out[:, [0, 2]] = (out[:, [0, 2]] + geometry.tx).clip(0, geometry.width)
    out[:, [1, 3]] = (out[:, [1, 3]] + geometry.ty).clip(0, geometry.height)
    if geometry.mirror:
        out[:, [0, 2]] = geometry.width - out[:, [2, 0]]
    return out / np.array([geometry.width, geometry.height, geometry.width, geometry.height])


def _expand(geometry: _Geometry, boxes: np.ndarray, rng: np.random.Generator) -> None:
    """Place the image at a random integer offset on a canvas 1-4x its size (filled with the mean colour)."""
    ratio = rng.uniform(1, 4)
    left = int(rng.uniform(0, geometry.width * ratio - geometry.width))
    top = int(rng.uniform(0, geometry.height * ratio - geometry.height))
    geometry.width, geometry.height = int(geometry.width * ratio), int(geometry.height * ratio)
    geometry.tx += left
    geometry.ty += top
    boxes[:, [0, 2]] += left
    boxes[:, [1, 3]] += top


def _random_crop(geometry: _Geometry, boxes: np.ndarray, is_crowd: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The original's RandomSampleCrop on the canvas; returns the indices of the boxes kept.

    A crop is 30-100% of each side with an aspect ratio between 1/2 and 2, at integer
    coordinates; it keeps the objects whose box centre lies strictly inside and needs at
    least one non-crowd object. The original draws one of six modes, one of which means "no
    crop"; its minimum-IoU conditions never reject a crop (a known quirk its author kept
    because fixing it hurt accuracy), so the other five behave the same and are one here.
    """
    everything = np.arange(len(boxes))
    width, height = geometry.width, geometry.height
    while True:
        if rng.integers(CROP_MODES) == 0:
            return everything
        for _ in range(CROP_TRIALS):
            w = rng.uniform(0.3 * width, width)
            h = rng.uniform(0.3 * height, height)
            if h / w < 0.5 or h / w > 2:
                continue
            left = rng.uniform(0, width - w)
            top = rng.uniform(0, height - h)
            rect = np.array([int(left), int(top), int(left + w), int(top + h)], dtype=np.float64)
            centres = (boxes[:, :2] + boxes[:, 2:]) / 2
            inside = (
                (rect[0] < centres[:, 0])
                & (rect[1] < centres[:, 1])
                & (centres[:, 0] < rect[2])
                & (centres[:, 1] < rect[3])
            )
            if not (inside & ~is_crowd).any():
                continue
            geometry.tx -= rect[0]
            geometry.ty -= rect[1]
            geometry.width, geometry.height = rect[2] - rect[0], rect[3] - rect[1]
            return everything[inside]


@dataclass(frozen=True)
class PhotometricDistortion:
    """The original's colour jitter, drawn once per image: brightness +-32, contrast 0.5-1.5 (before or
    after the HSV step), saturation 0.5-1.5 and hue +-18 degrees, each with probability 1/2.

    Values are kept within 0..255 (the original lets them drift outside, which OpenCV's HSV
    conversion is not meant for and inference never sees).
    """

    brightness: float | None
    contrast: float | None
    contrast_first: bool
    saturation: float | None
    hue: float | None

    @classmethod
    def draw(cls, rng: np.random.Generator) -> PhotometricDistortion:
        def maybe(lo: float, hi: float) -> float | None:
            return float(rng.uniform(lo, hi)) if rng.integers(2) else None

        brightness = maybe(-32, 32)
        contrast_first = bool(rng.integers(2))
        contrast = maybe(0.5, 1.5)
        saturation = maybe(0.5, 1.5)
        hue = maybe(-18, 18)
        return cls(brightness, contrast, contrast_first, saturation, hue)

    def apply(self, image: np.ndarray) -> np.ndarray:
        """float32 BGR 0..255 -> distorted copy."""
        out = image.astype(np.float32, copy=True)
        if self.brightness is not None:
            out += self.brightness
        if self.contrast is not None and self.contrast_first:
            out *= self.contrast
        if self.saturation is not None or self.hue is not None:
            hsv = cv2.cvtColor(np.clip(out, 0, 255), cv2.COLOR_BGR2HSV)
            if self.saturation is not None:
                hsv[..., 1] *= self.saturation
            if self.hue is not None:
                hsv[..., 0] = np.mod(hsv[..., 0] + self.hue, 360.0)
            out = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
        if self.contrast is not None and not self.contrast_first:
            out *= self.contrast
        return np.clip(out, 0, 255)
