"""The image canvas: a QGraphicsView showing one image's objects, with edit and draw tools."""

from protolabel.app.canvas.view import CanvasView

__all__ = ["CanvasView"]
