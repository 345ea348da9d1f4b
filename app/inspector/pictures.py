"""Arrays to QImages for the inspector: heatmaps, signed maps, and masks as indexed overlays."""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtGui import QColor, QImage

from protolabel.app.canvas.items import bgr_to_qimage
from protolabel.segmentation.inspection.render import heatmap

# A blue - grey - red ramp for signed values (contributions, the linear combination): zero is neutral.
_DIVERGING_STOPS = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
_DIVERGING_RGB = np.array([[49, 94, 212], [120, 160, 230], [40, 40, 44], [238, 150, 90], [214, 56, 40]], np.float32)


def heatmap_qimage(values: np.ndarray, low: float, high: float) -> QImage:
    """Viridis between low and high (the same colormap as `protolabel inspect`)."""
    return bgr_to_qimage(heatmap(values, low, high))


_DIVERGING_LUT = np.stack(
    [np.interp(np.linspace(-1, 1, 256), _DIVERGING_STOPS, _DIVERGING_RGB[:, c]) for c in range(3)], axis=-1
).astype(np.uint8)


_DIVERGING_CV_MAP = np.ascontiguousarray(_DIVERGING_LUT[:, ::-1].reshape(256, 1, 3))  # BGR, as OpenCV wants it


def diverging_bgr(values: np.ndarray, limit: float) -> np.ndarray:
    """Signed values as BGR uint8: negative blue, zero dark grey, positive red; |value| >= limit saturates."""
    values = np.asarray(values, np.float32)
    scaled = values * np.float32(127.5 / max(float(limit), 1e-12)) + np.float32(128.0)
    index = np.clip(scaled, 0, 255).astype(np.uint8).reshape(-1, values.shape[-1])
    return cv2.applyColorMap(index, _DIVERGING_CV_MAP).reshape(*values.shape, 3)  # a table lookup in one pass


def _bgr_qimage(bgr: np.ndarray) -> QImage:
    bgr = np.ascontiguousarray(bgr)
    h, w = bgr.shape[:2]
    return QImage(bgr.data, w, h, 3 * w, QImage.Format.Format_BGR888).copy()


def diverging_qimage(values: np.ndarray, limit: float) -> QImage:
    return _bgr_qimage(diverging_bgr(values, limit))


def diverging_qimages(stack: np.ndarray, limit: float) -> list[QImage]:
    """One signed picture per slice of a [n, h, w] stack, on one shared scale (colour mapped in one pass)."""
    bgr = diverging_bgr(stack, limit)
    return [_bgr_qimage(bgr[i]) for i in range(len(bgr))]


def gray_qimage(mask: np.ndarray) -> QImage:
    """A boolean or 0..1 array as a grey image."""
    data = np.ascontiguousarray((np.clip(mask.astype(np.float32), 0, 1) * 255).astype(np.uint8))
    h, w = data.shape
    return QImage(data.data, w, h, w, QImage.Format.Format_Grayscale8).copy()


def indexed_qimage(indices: np.ndarray, colors: list[QColor]) -> QImage:
    """A uint8 index array with a colour table (index 0 is usually transparent): no per-pixel colour work."""
    indices = np.ascontiguousarray(indices, dtype=np.uint8)
    h, w = indices.shape
    image = QImage(indices.data, w, h, w, QImage.Format.Format_Indexed8)
    image.setColorTable([c.rgba() for c in colors])
    return image.copy()  # own the pixels: the array may go away


def mask_indices(mask: np.ndarray, *, edge: bool = True) -> np.ndarray:
    """0 outside, 1 inside, 2 on the inner edge of a boolean mask (for a fill plus an outline)."""
    inside = mask.view(np.uint8) if mask.dtype == bool else (mask > 0).astype(np.uint8)
    if not edge or inside.size == 0:
        return inside
    eroded = cv2.erode(inside, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_CONSTANT, borderValue=0)
    return inside + (inside - eroded)


def with_alpha(color: QColor, alpha: int) -> QColor:
    out = QColor(color)
    out.setAlpha(alpha)
    return out
