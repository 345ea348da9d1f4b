"""Help ▸ About: the version, the torch build and the device the model runs on, and the licence."""

from __future__ import annotations

from html import escape

import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QVBoxLayout

from protolabel.app.device_text import device_in_use
from protolabel.segmentation.distribution import licence, version
from protolabel.segmentation.logs import log_file_path

HOMEPAGE = "https://github.com/dbolya/yolact"  # the model Protolabel opens up (YOLACT, MIT)


def about_facts(device: str) -> list[tuple[str, str]]:
    """(name, value) rows of the About box for the auto-label device setting `device`."""
    cuda = torch.version.cuda or "none (CPU-only build)"
    return [
        ("Version", version()),
        ("torch", f"{torch.__version__} (CUDA {cuda})"),
        ("Model runs on", f"{device_in_use(device)}, device setting “{device}”"),
        ("Licence", licence()),
        ("Log file", str(log_file_path())),
    ]


class AboutDialog(QDialog):
    def __init__(self, device: str, icon=None, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("about_dialog")
        self.setWindowTitle("About Protolabel")
        rows = "".join(
            f"<tr><td style='padding-right:12px;color:#6b7280'>{escape(name)}</td><td>{escape(value)}</td></tr>"
            for name, value in about_facts(device)
        )
        self.text_label = QLabel(
            "<h2 style='margin-bottom:2px'>Protolabel</h2>"
            "<p>A desktop annotation assistant for instance segmentation around YOLACT: pre-label with the "
            "model, correct the polygons, export COCO, and look inside the mask assembly.</p>"
            f"<table>{rows}</table>"
            f"<p style='color:#6b7280'>YOLACT: <a href='{HOMEPAGE}'>{HOMEPAGE}</a></p>"
        )
        self.text_label.setObjectName("about_text")
        self.text_label.setTextFormat(Qt.TextFormat.RichText)
        self.text_label.setWordWrap(True)
        self.text_label.setOpenExternalLinks(True)
        self.text_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        top = QHBoxLayout()
        if icon is not None and not icon.isNull():
            picture = QLabel()
            picture.setPixmap(icon.pixmap(64, 64))
            picture.setAlignment(Qt.AlignmentFlag.AlignTop)
            top.addWidget(picture)
        top.addWidget(self.text_label, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(buttons)
        self.setMinimumWidth(520)
