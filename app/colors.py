"""Colours: one stable colour per class label, one per image status."""

from __future__ import annotations

import zlib

from PySide6.QtGui import QColor

from protolabel.resources import label_palette
from protolabel.segmentation.project.labels import class_colors
from protolabel.segmentation.project.records import ImageStatus

# Distinct, colour-blind-friendly hues (resources/palette.json), used in label-hash order.
_PALETTE = label_palette()

STATUS_COLORS = {
    ImageStatus.UNLABELED: QColor("#8a8f98"),
    ImageStatus.AUTO_LABELED: QColor("#3b82f6"),
    ImageStatus.EDITED: QColor("#f59e0b"),
    ImageStatus.VERIFIED: QColor("#22c55e"),
}

STATUS_TEXT = {
    ImageStatus.UNLABELED: "unlabeled",
    ImageStatus.AUTO_LABELED: "auto-labeled",
    ImageStatus.EDITED: "edited",
    ImageStatus.VERIFIED: "verified",
}


# The open project's colours (set_project_colors): its classes in order take distinct palette colours.
_project_colors: dict[str, str] = {}


def set_project_colors(labels, chosen) -> bool:
    """Colour the open project's classes: the user's choices, else the palette in class order. True
    when a class's colour changed (what was drawn before in its colour must be drawn again)."""
    colors = class_colors(labels, list(_PALETTE), chosen)
    if colors == _project_colors:
        return False
    _project_colors.clear()
    _project_colors.update(colors)
    return True


def label_color(label: str) -> QColor:
    """The project's colour for a class; a label outside the project gets a stable hashed colour."""
    chosen = _project_colors.get(label)
    if chosen is not None:
        return QColor(chosen)
    return QColor(_PALETTE[zlib.crc32(label.encode("utf-8")) % len(_PALETTE)])
