"""Qt-free geometry: object shapes, mask <-> polygon conversion, per-image instance containers."""

from segmentation.geometry.shapes import Polygon, Shape

__all__ = ["Polygon", "Shape"]
