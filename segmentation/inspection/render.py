"""Pictures of an inspection: the labelled prototype grid and the detections over the image (BGR uint8)."""

from __future__ import annotations

import colorsys
import math

import cv2
import numpy as np

from protolabel.segmentation.detections import Detections


def heatmap(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """A 2-D array as a BGR image with a perceptual colormap (viridis) between low and high."""
    scaled = np.clip((values - low) / max(high - low, 1e-12), 0, 1)
    return cv2.applyColorMap((scaled * 255).astype(np.uint8), cv2.COLORMAP_VIRIDIS)


def class_color(index: int) -> tuple[int, int, int]:
    """A distinct, stable BGR colour per class index (golden-ratio hues)."""
    r, g, b = colorsys.hsv_to_rgb((index * 0.618033988749895) % 1.0, 0.75, 1.0)
    return int(b * 255), int(g * 255), int(r * 255)


def prototype_grid(
    prototypes: np.ndarray, *, shared_scale: bool = False, tile: int = 138, columns: int | None = None
) -> np.ndarray:
    """All k prototypes [h, w, k] as a labelled grid: index and value range over each tile."""
    k = prototypes.shape[2]
    columns = columns or math.ceil(math.sqrt(k))
    rows = math.ceil(k / columns)
    label_h, pad = 18, 4
    cell_w, cell_h = tile + pad, tile + label_h + pad
    grid = np.full((rows * cell_h + pad, columns * cell_w + pad, 3), 32, np.uint8)
    global_hi = float(prototypes.max()) if k else 0.0
    for j in range(k):
        p = prototypes[:, :, j]
        lo, hi = (0.0, global_hi) if shared_scale else (float(p.min()), float(p.max()))
        img = cv2.resize(heatmap(p, lo, hi), (tile, tile), interpolation=cv2.INTER_NEAREST)
        y, x = (j // columns) * cell_h + pad, (j % columns) * cell_w + pad
        grid[y + label_h : y + label_h + tile, x : x + tile] = img
        text = f"#{j}  {p.min():.2f}..{p.max():.2f}"
        cv2.putText(grid, text, (x + 2, y + 13), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (235, 235, 235), 1, cv2.LINE_AA)
    return grid


def detections_overlay(image: np.ndarray, det: Detections, alpha: float = 0.45) -> np.ndarray:
    """Translucent class-coloured masks, boxes and labels over the BGR image (best detection on top)."""
    out = image.astype(np.float32)
    for i in reversed(range(len(det))):
        color = np.array(class_color(int(det.classes[i])), np.float32)
        window = out[det.masks.slices(i)]  # a view: only the crop's pixels are touched
        m = det.masks.crop(i)
        window[m] = window[m] * (1 - alpha) + color * alpha
    out = out.astype(np.uint8)
    for i in reversed(range(len(det))):
        color = class_color(int(det.classes[i]))
        x1, y1, x2, y2 = (int(round(v)) for v in det.boxes[i])
        cv2.rectangle(out, (x1, y1), (x2, y2), color, 1, cv2.LINE_AA)
        label = f"{det.class_names[det.classes[i]]} {det.scores[i]:.2f}"
        cv2.putText(out, label, (x1 + 2, max(y1 - 3, 10)), cv2.FONT_HERSHEY_SIMPLEX, 0.4, color, 1, cv2.LINE_AA)
    return out
