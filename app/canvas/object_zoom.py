"""Where the canvas looks when it shows one object (Tab, Y, N, Z, a double click in the list): a Qt-free rule.

The view frames the object with room around it, but within bounds: never zoomed out past the whole image (a large
object is shown at the fit-the-image zoom, not smaller), and never zoomed in so far that a tiny object fills the
screen without its surroundings. Plain numbers in, plain numbers out, so the rule is tested without a window.
"""

from __future__ import annotations

from dataclasses import dataclass

CONTEXT = 1.0  # room on each side of the object, in object sizes: the object takes about a third of the view
MIN_VIEW_PX = 160.0  # zoomed in on a tiny object, the view still spans this many image pixels (its short side)...
MAX_OVER_FIT = 3.0  # ...or a third of the image, for an image smaller than that


@dataclass(frozen=True)
class ObjectView:
    """The zoom and the scene point at the view's centre that show one object.

    scale: view pixels per image pixel. centre_x, centre_y: image pixels.
    """

    scale: float
    centre_x: float
    centre_y: float


def fit_scale(view_wh: tuple[float, float], image_wh: tuple[float, float]) -> float:
    """The zoom that shows the whole image in the view (view pixels per image pixel)."""
    return min(view_wh[0] / max(image_wh[0], 1.0), view_wh[1] / max(image_wh[1], 1.0))


def zoom_bounds(view_wh: tuple[float, float], image_wh: tuple[float, float]) -> tuple[float, float]:
    """The (lowest, highest) zoom at which an object is shown: the fit, and the zoom at which the view still
    spans MIN_VIEW_PX image pixels or a third of the image (whichever allows more zoom; never below the fit)."""
    fit = fit_scale(view_wh, image_wh)
    most = max(min(view_wh) / MIN_VIEW_PX, fit * MAX_OVER_FIT)
    return fit, max(fit, most)


def object_view(
    box: tuple[float, float, float, float],
    view_wh: tuple[float, float],
    image_wh: tuple[float, float],
    max_scale: float = float("inf"),
) -> ObjectView:
    """The view of `box` (x1, y1, x2, y2, image pixels) in a view of `view_wh` pixels over an image of `image_wh`.

    The object with CONTEXT times its size on each side fills the view, the zoom held within `zoom_bounds` (and
    `max_scale`); the centre is the object's, moved inwards where the view would show past the image's edge while
    there is image to show instead (an object at a corner is shown with the image around it, not a dark margin).
    """
    view_wh = (max(view_wh[0], 1.0), max(view_wh[1], 1.0))  # a window shrunk to nothing still gets a zoom
    x1, y1, x2, y2 = box
    width, height = max(x2 - x1, 1.0), max(y2 - y1, 1.0)
    span = 1.0 + 2.0 * CONTEXT
    wanted = min(view_wh[0] / (width * span), view_wh[1] / (height * span))
    lowest, highest = zoom_bounds(view_wh, image_wh)
    scale = min(max(wanted, lowest), highest, max(max_scale, lowest))
    centre_x = _inside((x1 + x2) / 2, view_wh[0] / scale, image_wh[0])
    centre_y = _inside((y1 + y2) / 2, view_wh[1] / scale, image_wh[1])
    return ObjectView(scale, centre_x, centre_y)


def _inside(centre: float, seen: float, size: float) -> float:
    """The centre, moved so that a view `seen` pixels wide stays on an image `size` pixels wide where it can."""
    if seen >= size:
        return size / 2  # the whole image fits this way: centre it
    return min(max(centre, seen / 2), size - seen / 2)
