"""Which model classes an auto-label run keeps, and the project label each one becomes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from protolabel.segmentation.project.records import StoredObject


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

    def with_label_renamed(self, old: str, new: str) -> ClassMapping:
        """This mapping with every model class that gave the project label `old` giving `new` instead: a
        rename or merge of a project class, so later model runs do not bring `old` back. A model class
        named `old` counts unless the mapping renames or filters it out; entries that name a class
        after itself are dropped."""
        rename = {model: new if label == old else label for model, label in self.rename.items()}
        if old not in self.rename and (self.keep is None or old in self.keep):
            rename[old] = new
        return ClassMapping(self.keep, {model: label for model, label in rename.items() if model != label})

    def with_entries_of(self, other: ClassMapping, model_classes: Iterable[str]) -> ClassMapping:
        """This mapping with the rename entries of `model_classes` set as `other` has them (absent: removed)."""
        rename = dict(self.rename)
        for model in model_classes:
            rename.pop(model, None)
            if model in other.rename:
                rename[model] = other.rename[model]
        return ClassMapping(self.keep, rename)

    def project_labels(self, model_classes: Iterable[str]) -> list[str]:
        """The distinct labels an auto-label run can produce from these model classes, in model order."""
        labels = (self.label_for(c) for c in model_classes)
        return list(dict.fromkeys(label for label in labels if label is not None))

    def to_json(self) -> dict[str, Any]:
        return {"keep": None if self.keep is None else sorted(self.keep), "rename": dict(sorted(self.rename.items()))}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> ClassMapping:
        """The mapping `to_json` wrote; ValueError (saying what is wrong) for anything else."""
        if not data:
            return cls()
        if not isinstance(data, Mapping):
            raise ValueError(f"expected {{'keep': [...], 'rename': {{...}}}}, got {type(data).__name__}")
        keep, rename = data.get("keep"), data.get("rename") or {}
        if keep is not None and not (isinstance(keep, list) and all(isinstance(k, str) for k in keep)):
            raise ValueError("'keep' is not a list of class names")
        if not (isinstance(rename, Mapping) and all(isinstance(v, str) for v in rename.values())):
            raise ValueError("'rename' is not a table of class names")
        return cls(keep=None if keep is None else frozenset(keep), rename=dict(rename))


# ---------------------------------------------------------------- project classes (label dock)
LABELS_KEY = "labels"  # project setting: the class list, in the order the Classes dock and number keys use
LABEL_COLORS_KEY = "label_colors"  # project setting: {label: "#rrggbb"} chosen by the user
KEEP_CLASSES_KEY = "keep_classes"  # project setting: labels written to the export even with no objects
DEFAULT_LABEL = "object"  # the class of a new polygon while the project has no class yet
CLASS_MAPPING_KEY = "class_mapping"  # project setting: ClassMapping.to_json(), what model runs give each class


def appended_labels(listed: Iterable[str], found: Iterable[str]) -> list[str]:
    """The class list with the labels of `found` it lacks appended, sorted: how the classes a model run or a
    person's edit brings join the list, so no listed class moves (nor its number key or colour)."""
    listed = list(listed)
    return [*listed, *sorted(set(found) - set(listed))]


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


# ---------------------------------------------------------------- project-wide class steps (undoable)
@dataclass(frozen=True)
class ClassSettings:
    """The project's class list in order, the colours the user chose, the classes kept for the export, and
    the class mapping (a rename of a class renames what model runs give it)."""

    labels: tuple[str, ...]
    colors: Mapping[str, str]
    kept: frozenset[str]
    mapping: ClassMapping = field(default_factory=ClassMapping)

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", tuple(self.labels))
        object.__setattr__(self, "colors", dict(self.colors))
        object.__setattr__(self, "kept", frozenset(self.kept))


def restore_classes(
    current: ClassSettings, target: ClassSettings, touched: Iterable[str], mapped: Iterable[str] = ()
) -> ClassSettings:
    """`current` with the `touched` classes put back as they are in `target`: in the list (at their index
    there), their colour and their keep flag, and the mapping entries of the `mapped` model classes. Other
    classes and entries stay as they are now, so undoing a rename does not also drop a class added since
    (nor a mapping change made in the dialog since)."""
    touched = set(touched)
    labels = [label for label in current.labels if label not in touched]
    for index, label in sorted((target.labels.index(label), label) for label in touched if label in target.labels):
        labels.insert(min(index, len(labels)), label)
    colors = {k: v for k, v in current.colors.items() if k not in touched}
    colors.update({k: v for k, v in target.colors.items() if k in touched})
    kept = (current.kept - touched) | (target.kept & touched)
    return ClassSettings(tuple(labels), colors, kept, current.mapping.with_entries_of(target.mapping, mapped))


@dataclass(frozen=True)
class ClassEdit:
    """A project-wide class rename, merge (`new` is an existing class) or delete (`new` None), as applied.

    `objects` are the objects of class `old` as they were before it; `versions` is each one's stored
    version after the last replay: an undo or redo is refused (StaleEditError) when any of them was
    changed or deleted since, so it never clobbers a newer edit nor resurrects an object deleted elsewhere.
    """

    text: str
    old: str
    new: str | None
    objects: tuple[StoredObject, ...]
    versions: Mapping[int, int]
    before: ClassSettings
    after: ClassSettings

    @property
    def count(self) -> int:
        """How many objects the step changed (renamed, merged or deleted)."""
        return len(self.objects)

    @property
    def touched(self) -> tuple[str, ...]:
        return (self.old,) if self.new is None else (self.old, self.new)

    @property
    def mapped(self) -> tuple[str, ...]:
        """The model classes whose mapping entry the step changed."""
        before, after = self.before.mapping.rename, self.after.mapping.rename
        return tuple(sorted(m for m in {*before, *after} if before.get(m) != after.get(m)))
