"""Live mask editing: one detection's final mask for new coefficients, fast enough to follow a slider.

The box crop zeroes everything outside the box, so only the output pixels whose bilinear taps can
reach the box window change with the coefficients. `LiveMask` prepares, once per detection, the
prototype rows and columns that window reads and the resize taps, then each `compute` is a small
matrix-vector product, a sigmoid and the separable bilinear resize of that window only. It follows
`binarize_at_image_size` operation for operation, so what the slider shows is what "apply" keeps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from protolabel.segmentation.geometry.outlines import DEFAULT_MIN_AREA, DEFAULT_TOLERANCE, mask_to_shape
from protolabel.segmentation.geometry.shapes import Shape
from protolabel.segmentation.yolact.masks import _axis_sampling, assemble_mask_stages, crop_bounds, crop_keep


@dataclass(frozen=True)
class MaskWindow:
    """Part of a frame-sized mask: `mask` covers columns x0.. and rows y0.. of the frame."""

    x0: int
    y0: int
    mask: np.ndarray  # bool [rows, cols]

    @property
    def empty(self) -> bool:
        return self.mask.size == 0 or not self.mask.any()

    def full(self, frame_size: tuple[int, int]) -> np.ndarray:
        """The window pasted into an all-False mask of the frame's size."""
        out = np.zeros(frame_size, dtype=bool)
        rows, cols = self.mask.shape
        out[self.y0 : self.y0 + rows, self.x0 : self.x0 + cols] = self.mask
        return out

    def to_shape(
        self, origin: tuple[int, int] = (0, 0), tolerance: float = DEFAULT_TOLERANCE, min_area: float = DEFAULT_MIN_AREA
    ) -> Shape:
        """The mask as polygons in image coordinates (`origin`: the frame's (x0, y0) in the image); empty
        when the mask is. The one path from a detection's mask to the shape an object would get."""
        if self.empty:
            return Shape(())
        shape = mask_to_shape(self.mask, tolerance=tolerance, min_area=min_area)
        return shape.translated(origin[0] + self.x0, origin[1] + self.y0)


class LiveMask:
    """The thresholded, frame-sized mask of one detection as a function of its k coefficients."""

    def __init__(
        self, prototypes: np.ndarray, box_rel: np.ndarray, frame_size: tuple[int, int], threshold: float = 0.5
    ) -> None:
        h, w, k = prototypes.shape
        height, width = frame_size
        self.frame_size = (int(height), int(width))
        self.threshold = np.float32(threshold)
        box = torch.from_numpy(np.asarray(box_rel, np.float32))[None]
        lo_x, lo_y, hi_x, hi_y = crop_bounds(box, h, w)[0].tolist()
        c0, c1 = int(np.ceil(lo_x)), int(np.ceil(hi_x)) - 1  # kept prototype columns, inclusive
        r0, r1 = int(np.ceil(lo_y)), int(np.ceil(hi_y)) - 1
        ylo, yhi, yw = _axis_sampling(h, height)
        xlo, xhi, xw = _axis_sampling(w, width)
        x0, x1 = (int(np.searchsorted(xhi, c0, "left")), int(np.searchsorted(xlo, c1, "right"))) if c1 >= c0 else (0, 0)
        y0, y1 = (int(np.searchsorted(yhi, r0, "left")), int(np.searchsorted(ylo, r1, "right"))) if r1 >= r0 else (0, 0)
        self.x0, self.y0 = x0, y0
        if x1 <= x0 or y1 <= y0:
            self._shape = (0, 0)
            return
        self._shape = (y1 - y0, x1 - x0)
        # The prototype window the taps read, and which of its pixels survive the crop.
        sr0, sr1 = int(ylo[y0]), int(yhi[y1 - 1]) + 1
        sc0, sc1 = int(xlo[x0]), int(xhi[x1 - 1]) + 1
        self._window = (sr1 - sr0, sc1 - sc0)
        self._protos = torch.from_numpy(
            np.ascontiguousarray(prototypes[sr0:sr1, sc0:sc1], dtype=np.float32).reshape(-1, k)
        )
        self._keep = crop_keep(box, h, w)[0, sr0:sr1, sc0:sc1].reshape(-1)  # the box crop, on the window
        self._xlo, self._xhi = xlo[x0:x1] - sc0, xhi[x0:x1] - sc0
        self._wx = xw[x0:x1]
        self._wx1 = (1 - self._wx).astype(np.float32)
        self._ylo, self._yhi = ylo[y0:y1] - sr0, yhi[y0:y1] - sr0
        self._wy = yw[y0:y1, None]
        self._wy1 = (1 - self._wy).astype(np.float32)
        self._a = np.empty(self._shape, np.float32)  # reused buffers: no large allocation per update
        self._b = np.empty(self._shape, np.float32)

    @property
    def window_shape(self) -> tuple[int, int]:
        """(rows, cols) of the output window (the part of the frame the mask can cover)."""
        return self._shape

    def soft_window(self, coefficients: np.ndarray) -> np.ndarray:
        """The cropped sigmoid mask at prototype resolution, on the prototype window the resize reads."""
        stages = assemble_mask_stages(self._protos, np.asarray(coefficients, dtype=np.float32), keep=self._keep)
        return stages.cropped[0].numpy().reshape(self._window)

    def compute(self, coefficients: np.ndarray) -> MaskWindow:
        """The frame-sized final mask for these coefficients, as the window that can be non-empty."""
        if self._shape == (0, 0):
            return MaskWindow(self.x0, self.y0, np.zeros((0, 0), dtype=bool))
        soft = self.soft_window(coefficients)
        across = soft[:, self._xlo] * self._wx1 + soft[:, self._xhi] * self._wx  # [source rows, output cols]
        a, b = self._a, self._b
        np.take(across, self._ylo, axis=0, out=a)
        a *= self._wy1
        np.take(across, self._yhi, axis=0, out=b)
        b *= self._wy
        a += b
        return MaskWindow(self.x0, self.y0, a > self.threshold)
