"""`BoxMasks`: the binary masks of an image's detections, each kept as the crop of the image its box reaches.

A dense bool [D, H, W] stack of 100 detections on a 24 MP photo is 2.4 GB; a detection's mask only
ever has pixels inside the window its box can reach, so each mask is stored as that window (a bool
crop at original resolution) and its (x0, y0) offset in the image. Conversions (polygons, COCO RLE,
IoU) work on the crops; `dense` and `to_dense` exist for small callers and tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from protolabel.segmentation.geometry.outlines import DEFAULT_MIN_AREA, DEFAULT_TOLERANCE, mask_to_shape
from protolabel.segmentation.geometry.rasterise import shape_to_mask_crop
from protolabel.segmentation.geometry.rle import rle_from_crop
from protolabel.segmentation.geometry.shapes import Shape

_EMPTY = np.zeros((0, 0), bool)
_EMPTY.setflags(write=False)


def _read_only(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


def _frozen_bool(crop) -> np.ndarray:
    """A read-only bool array of the crop's pixels: a copy unless it is already read-only bool."""
    crop = np.asarray(crop)
    if crop.dtype == bool and not crop.flags.writeable:
        return crop
    return _read_only(np.array(crop, dtype=bool))


@dataclass(frozen=True, eq=False)
class BoxMasks:
    """D binary masks of one image: per mask a bool crop [h_i, w_i] and its (x0, y0) in the image.

    Pixels outside a crop are False. `image_size` is (height, width) in pixels; every crop lies
    inside the image. Crops and offsets are read-only, so a selection can share them.
    """

    image_size: tuple[int, int]  # (height, width) of the image, pixels
    crops: tuple[np.ndarray, ...]  # D bool arrays [h_i, w_i]
    offsets: np.ndarray  # int64 [D, 2]: (x0, y0) of each crop's top-left pixel in the image

    def __post_init__(self) -> None:
        height, width = (int(v) for v in self.image_size)
        crops = tuple(_frozen_bool(c) for c in self.crops)
        offsets = np.array(self.offsets, dtype=np.int64).reshape(-1, 2)
        if len(crops) != len(offsets):
            raise ValueError(f"{len(crops)} crops but {len(offsets)} offsets")
        for i, (crop, (x0, y0)) in enumerate(zip(crops, offsets)):
            if crop.ndim != 2:
                raise ValueError(f"crop {i} is not 2-D: shape {crop.shape}")
            h, w = crop.shape
            if not (0 <= x0 and 0 <= y0 and x0 + w <= width and y0 + h <= height):
                raise ValueError(f"crop {i} ({w}x{h} at x={x0}, y={y0}) is not inside the {width}x{height} image")
        object.__setattr__(self, "image_size", (height, width))
        object.__setattr__(self, "crops", crops)
        object.__setattr__(self, "offsets", _read_only(offsets))

    def __reduce__(self):
        # Pickled as one bit-packed buffer (8 pixels a byte) plus the crop shapes: what a worker
        # process receives costs an eighth of the crops, and nothing of the image size.
        shapes = np.array([c.shape for c in self.crops], np.int64).reshape(-1, 2)
        bits = np.packbits(np.concatenate([c.ravel() for c in self.crops])) if self.crops else np.zeros(0, np.uint8)
        return _unpickle, (self.image_size, shapes, self.offsets, bits)

    # ------------------------------------------------------------------ construction

    @classmethod
    def empty(cls, image_size: tuple[int, int]) -> BoxMasks:
        """No masks."""
        return cls(image_size, (), np.zeros((0, 2), np.int64))

    @classmethod
    def from_dense(cls, masks: np.ndarray) -> BoxMasks:
        """Each mask of a bool [D, H, W] stack cropped to the box of its pixels (for small callers and tests)."""
        masks = np.asarray(masks, dtype=bool)
        if masks.ndim != 3:
            raise ValueError(f"expected masks [D, H, W], got shape {masks.shape}")
        crops, offsets = [], []
        for mask in masks:
            rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
            if rows.size == 0:
                crops.append(_EMPTY)
                offsets.append((0, 0))
                continue
            y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
            crops.append(mask[y0:y1, x0:x1].copy())
            offsets.append((x0, y0))
        return cls(masks.shape[1:], tuple(crops), np.asarray(offsets, np.int64).reshape(-1, 2))

    @classmethod
    def from_shapes(cls, shapes: Sequence[Shape], image_size: tuple[int, int]) -> BoxMasks:
        """Shapes rasterised as COCO does (`shape_to_mask`), each only inside its own bounding box."""
        height, width = image_size
        crops, offsets = [], []
        for shape in shapes:
            window = _pixel_window(shape, height, width)
            if window is None:
                crops.append(_EMPTY)
                offsets.append((0, 0))
                continue
            crops.append(shape_to_mask_crop(shape, height, width, window))
            offsets.append(window[:2])
        return cls(image_size, tuple(crops), np.asarray(offsets, np.int64).reshape(-1, 2))

    # ------------------------------------------------------------------ indexing

    def __len__(self) -> int:
        return len(self.crops)

    def __repr__(self) -> str:
        return f"BoxMasks({len(self)} masks, image {self.image_size[1]}x{self.image_size[0]}, {self.nbytes} bytes)"

    def __getitem__(self, key):
        # A dense-array habit (masks[i], zip(masks, ...)) must fail loudly, not allocate H x W per index.
        raise TypeError(
            "BoxMasks are box-local: use .dense(i) for one full-size mask, .crop(i) and .window(i) "
            "for its pixels, .select(keep) for a subset, .to_dense() for small images"
        )

    def select(self, keep) -> BoxMasks:
        """The masks picked by an index, an index array, a slice or a boolean array (numpy's rules)."""
        rows = np.atleast_1d(np.arange(len(self))[keep])
        return BoxMasks(self.image_size, tuple(self.crops[r] for r in rows), self.offsets[rows])

    def crop(self, index: int) -> np.ndarray:
        """Bool [h, w]: the pixels of mask `index` inside its window (read-only)."""
        return self.crops[index]

    def window(self, index: int) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) of mask `index`'s crop in the image, pixels (x1, y1 exclusive)."""
        x0, y0 = (int(v) for v in self.offsets[index])
        h, w = self.crops[index].shape
        return x0, y0, x0 + w, y0 + h

    def slices(self, index: int) -> tuple[slice, slice]:
        """(rows, columns) slices of an [H, W] image array that mask `index`'s crop covers."""
        x0, y0, x1, y1 = self.window(index)
        return slice(y0, y1), slice(x0, x1)

    # ------------------------------------------------------------------ measures

    @property
    def areas(self) -> np.ndarray:
        """int64 [D]: pixel count of each mask."""
        return np.fromiter((np.count_nonzero(c) for c in self.crops), np.int64, len(self))

    def area(self, index: int) -> int:
        """Pixel count of mask `index`."""
        return int(np.count_nonzero(self.crops[index]))

    @property
    def nbytes(self) -> int:
        """Bytes held by the crops and offsets (what the masks cost, whatever the image size)."""
        return sum(c.nbytes for c in self.crops) + self.offsets.nbytes

    # ------------------------------------------------------------------ conversions

    def dense(self, index: int) -> np.ndarray:
        """Bool [H, W]: mask `index` at the image size."""
        out = np.zeros(self.image_size, bool)
        out[self.slices(index)] = self.crops[index]
        return out

    def to_dense(self) -> np.ndarray:
        """Bool [D, H, W]: every mask at the image size; D * H * W bytes, so for small images and tests only."""
        out = np.zeros((len(self), *self.image_size), bool)
        for i, crop in enumerate(self.crops):
            out[(i, *self.slices(i))] = crop
        return out

    def to_shape(
        self, index: int, *, tolerance: float = DEFAULT_TOLERANCE, min_area: float = DEFAULT_MIN_AREA
    ) -> Shape:
        """Mask `index` as polygons in image pixels: exactly `mask_to_shape` of its dense mask."""
        x0, y0 = (int(v) for v in self.offsets[index])
        # mask_to_shape works on the box of the mask's pixels wherever they lie, so the crop gives
        # the same polygons in the crop's frame; whole-pixel offsets translate them exactly.
        shape = mask_to_shape(self.crops[index], tolerance=tolerance, min_area=min_area)
        return shape.translated(x0, y0) if (x0 or y0) else shape

    def to_rle(self, index: int) -> dict:
        """Compressed COCO RLE of mask `index` at the image size (`counts` a str), built from the crop."""
        x0, y0 = (int(v) for v in self.offsets[index])
        return rle_from_crop(self.crops[index], x0, y0, *self.image_size)


def _unpickle(image_size: tuple[int, int], shapes: np.ndarray, offsets: np.ndarray, bits: np.ndarray) -> BoxMasks:
    sizes = shapes[:, 0] * shapes[:, 1]
    pixels = np.unpackbits(bits, count=int(sizes.sum())).view(bool)
    crops = [p.reshape(shape) for p, shape in zip(np.split(pixels, np.cumsum(sizes)[:-1]), shapes)]
    return BoxMasks(image_size, tuple(crops), offsets)


def _pixel_window(shape: Shape, height: int, width: int) -> tuple[int, int, int, int] | None:
    """Integer (x0, y0, x1, y1) holding every pixel the shape can cover, inside the image; None if none."""
    if shape.is_empty():
        return None
    x1, y1, x2, y2 = shape.bounds()
    x0, y0 = max(int(np.floor(x1)), 0), max(int(np.floor(y1)), 0)
    x1, y1 = min(int(np.ceil(x2)), width), min(int(np.ceil(y2)), height)
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def pairwise_iou(a: BoxMasks, b: BoxMasks) -> np.ndarray:
    """float64 [len(a), len(b)]: mask IoU of every pair (0 where both are empty), from the crops only.

    Equal to `mask_iou` of the dense masks; pairs whose windows do not meet cost nothing.
    """
    if a.image_size != b.image_size:
        raise ValueError(f"masks of different images: {a.image_size} and {b.image_size}")
    out = np.zeros((len(a), len(b)), np.float64)
    areas_a, areas_b = a.areas, b.areas
    windows_b = [b.window(j) for j in range(len(b))]
    for i in range(len(a)):
        if areas_a[i] == 0:
            continue
        ax0, ay0, ax1, ay1 = a.window(i)
        for j, (bx0, by0, bx1, by1) in enumerate(windows_b):
            if areas_b[j] == 0:
                continue
            x0, y0, x1, y1 = max(ax0, bx0), max(ay0, by0), min(ax1, bx1), min(ay1, by1)
            inter = 0
            if x1 > x0 and y1 > y0:
                inter = np.count_nonzero(
                    a.crops[i][y0 - ay0 : y1 - ay0, x0 - ax0 : x1 - ax0]
                    & b.crops[j][y0 - by0 : y1 - by0, x0 - bx0 : x1 - bx0]
                )
            out[i, j] = inter / (areas_a[i] + areas_b[j] - inter)
    return out
