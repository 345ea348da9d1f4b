"""Driving the real window from the screenshot scripts: the app's own event-loop helpers, under the names they use."""

from __future__ import annotations

from protolabel.app.event_loop import settle
from protolabel.app.event_loop import wait_until as wait

__all__ = ["settle", "wait", "write_sample_photos"]


def write_sample_photos(folder, size: int) -> None:
    """astronaut.png, chelsea.png and coffee.png from scikit-image, size x size, into `folder`."""
    import cv2
    from skimage import data

    for name, rgb in {
        "astronaut.png": data.astronaut(),
        "chelsea.png": data.chelsea(),
        "coffee.png": data.coffee(),
    }.items():
        cv2.imwrite(str(folder / name), cv2.resize(rgb[:, :, ::-1], (size, size), interpolation=cv2.INTER_AREA))
