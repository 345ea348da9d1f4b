"""Boxes given by two opposite corners in any order (a drag on the canvas, a model's prediction)."""

from __future__ import annotations

from collections.abc import Sequence


def ordered_box(box: Sequence[float]) -> tuple[float, float, float, float]:
    """(x1, y1, x2, y2) with the corners in any order -> (x_min, y_min, x_max, y_max) as floats."""
    x1, x2 = sorted((float(box[0]), float(box[2])))
    y1, y2 = sorted((float(box[1]), float(box[3])))
    return x1, y1, x2, y2
