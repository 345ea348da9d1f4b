"""Protolabel's data files (icons, the COCO and YouTube-VIS class lists, the label palette, the desktop
entry), read through importlib.resources so they are found the same way from a wheel, an editable install
and a PyInstaller bundle.

Qt-free: the app turns icon files into QIcons itself.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

APP_ID = "io.github.protolabel.Protolabel"  # reverse-DNS id: desktop entry, icon and AppStream names
APP_ICON_SIZES = (16, 32, 48, 64, 128, 256, 512)

_files = contextlib.ExitStack()
atexit.register(_files.close)


def resource(*parts: str) -> Traversable:
    """A file under resources/ (may not exist)."""
    return resources.files(__name__).joinpath(*parts)


def resource_path(*parts: str) -> Path:
    """A real file-system path for a resource, for APIs that want one (Qt icons, shutil.copy); kept until exit."""
    return _files.enter_context(resources.as_file(resource(*parts)))


@functools.cache
def coco_categories() -> tuple[tuple[int, str], ...]:
    """(COCO category id, name) of the 80 classes, in the official models' output order."""
    data = json.loads(resource("coco_classes.json").read_text(encoding="utf-8"))
    return tuple((int(c["id"]), str(c["name"])) for c in data["categories"])


@functools.cache
def youtube_vis_classes() -> tuple[str, ...]:
    """The 40 YouTube-VIS class names, in the YolactEdge video models' output order."""
    data = json.loads(resource("youtube_vis_classes.json").read_text(encoding="utf-8"))
    return tuple(str(name) for name in data["classes"])


@functools.cache
def label_palette() -> tuple[str, ...]:
    """The default label colours ('#RRGGBB'), in the order labels are hashed into."""
    return tuple(json.loads(resource("palette.json").read_text(encoding="utf-8"))["label_colors"])


def action_icon_path(name: str) -> Path | None:
    """The SVG toolbar icon of an action (actions.ACTIONS name), or None when it has none."""
    icon = resource("icons", "actions", f"{name}.svg")
    return resource_path("icons", "actions", f"{name}.svg") if icon.is_file() else None


def app_icon_path(size: int | None = None) -> Path:
    """The application icon: the SVG, or the PNG rendered at `size` pixels."""
    name = "protolabel.svg" if size is None else f"protolabel-{size}.png"
    return resource_path("icons", "app", name)
