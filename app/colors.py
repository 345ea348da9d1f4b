"""Colours: one stable colour per class label, one per image status."""

from __future__ import annotations

import zlib

from PySide6.QtGui import QColor

from resources import label_palette
from segmentation.project.records import ImageStatus

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


def label_color(label: str) -> QColor:
    """The same label always gets the same colour, in every session."""
    return QColor(_PALETTE[zlib.crc32(label.encode("utf-8")) % len(_PALETTE)])
