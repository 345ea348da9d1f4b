"""Which model classes an auto-label run keeps, and the project label each one becomes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ClassMapping:
    """`keep=None` keeps every class; `rename` maps model class names to project labels.

    Example: keep only person and car, and call persons pedestrians:
    ClassMapping(keep=frozenset({"person", "car"}), rename={"person": "pedestrian"}).
    """

    keep: frozenset[str] | None = None
    rename: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.keep is not None:
            object.__setattr__(self, "keep", frozenset(self.keep))
        object.__setattr__(self, "rename", {str(k): str(v).strip() for k, v in dict(self.rename).items()})
        for model_class, label in self.rename.items():
            if not label:
                raise ValueError(f"the project label for model class {model_class!r} is empty")

    def label_for(self, model_class: str) -> str | None:
        """The project label for a detection of `model_class`, or None when the class is filtered out."""
        if self.keep is not None and model_class not in self.keep:
            return None
        return self.rename.get(model_class, model_class)

    def project_labels(self, model_classes: Iterable[str]) -> list[str]:
        """The distinct labels an auto-label run can produce from these model classes, in model order."""
        labels = (self.label_for(c) for c in model_classes)
        return list(dict.fromkeys(label for label in labels if label is not None))

    def to_json(self) -> dict[str, Any]:
        return {"keep": None if self.keep is None else sorted(self.keep), "rename": dict(sorted(self.rename.items()))}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> ClassMapping:
        if not data:
            return cls()
        keep = data.get("keep")
        return cls(keep=None if keep is None else frozenset(keep), rename=dict(data.get("rename") or {}))


# ---------------------------------------------------------------- project classes (label dock)
LABEL_COLORS_KEY = "label_colors"  # project setting: {label: "#rrggbb"} chosen by the user
KEEP_CLASSES_KEY = "keep_classes"  # project setting: labels written to the export even with no objects


def class_colors(labels: Iterable[str], palette: list[str], chosen: Mapping[str, str]) -> dict[str, str]:
    """A colour per label: the user's choice, else the palette in class order (the first len(palette)
    classes never share a colour; later ones wrap around)."""
    return {label: chosen.get(label) or palette[i % len(palette)] for i, label in enumerate(labels)}


def exported_class_names(labels: Iterable[str], used: Iterable[str], keep: Iterable[str]) -> tuple[str, ...]:
    """The export's categories: the project's classes that have objects or are kept, in project order,
    then labels used but not (yet) project classes, in the order they were met."""
    used, keep = tuple(dict.fromkeys(used)), set(keep)
    listed = [label for label in labels if label in used or label in keep]
    return tuple(dict.fromkeys((*listed, *used)))
