"""Asked before I (Auto-label Image) runs on an image that already has objects: what the run will replace."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QMessageBox, QWidget


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def relabel_text(auto: int, person: int) -> str:
    """What running the model again does to an image with `auto` model objects and `person` objects a person
    drew, changed or accepted."""
    parts = []
    if auto:
        parts.append(f"Its {_count(auto, 'auto object')} will be replaced by the model's new detections.")
    if person:
        parts.append(
            f"Its {_count(person, 'object')} that a person drew, changed or accepted "
            f"{'stays' if person == 1 else 'stay'} (detections that repeat them are dropped)."
        )
    parts.append("Ctrl+Z undoes the run.")
    return " ".join(parts)


class RelabelConfirmation(QMessageBox):
    """Label again or cancel, with "Don't ask again"; `ask_again` reads the box after exec()."""

    def __init__(self, auto: int, person: int, parent: QWidget | None = None) -> None:
        super().__init__(
            QMessageBox.Icon.Question,
            "Auto-label this image again?",
            "Run the model on this image again?",
            QMessageBox.StandardButton.Cancel,
            parent,
        )
        self.setObjectName("relabel_confirm")
        self.setInformativeText(relabel_text(auto, person))
        self.label_button = self.addButton("Label again", QMessageBox.ButtonRole.AcceptRole)
        self.setDefaultButton(self.label_button)
        # Held here: QMessageBox does not take the Python wrapper's ownership, so a temporary would be deleted.
        self.dont_ask = QCheckBox("Don't ask again (Auto-label menu: Ask Before Labelling Again)")
        self.setCheckBox(self.dont_ask)

    @property
    def ask_again(self) -> bool:
        return not self.dont_ask.isChecked()

    def confirmed(self) -> bool:
        """Show it; True when the person chose to label again."""
        self.exec()
        return self.clickedButton() is self.label_button
