"""`Instances`: the objects of one image as equal-length fields indexed together (after detectron2)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NoReturn

import numpy as np

from protolabel.segmentation.geometry.measures import shape_area
from protolabel.segmentation.geometry.provenance import PROVENANCES, Provenance
from protolabel.segmentation.geometry.shapes import Shape

CORE_FIELDS = ("shapes", "classes", "scores", "provenance", "crowd")


class Instances:
    """Per-object fields of one image, all of length N, indexed together: `inst[inst.scores > 0.5]`.

    Core fields: `shapes` (Shape objects), `classes` (int64 index into `class_names`),
    `scores` (float32, NaN where a person drew the object), `provenance` (one of
    PROVENANCES), `crowd` (bool, COCO's iscrowd). Any further field of length N (e.g.
    `coefficients`) rides along. Boxes and areas are derived from the shapes, never stored.
    """

    def __init__(
        self,
        image_size: tuple[int, int],
        *,
        class_names: Sequence[str],
        shapes: Sequence[Shape] = (),
        classes: Sequence[int] | np.ndarray = (),
        scores: Sequence[float] | np.ndarray | None = None,
        provenance: Sequence[str] | str | np.ndarray = Provenance.AUTO.value,
        crowd: Sequence[bool] | np.ndarray | None = None,
        **extra: Any,
    ) -> None:
        self._image_size = (int(image_size[0]), int(image_size[1]))
        self.class_names = tuple(class_names)
        self._fields: dict[str, np.ndarray] = {}
        n = len(shapes)
        self._set("shapes", _object_array(shapes))
        self._set("classes", np.asarray(classes, dtype=np.int64).reshape(-1))
        self._set("scores", np.full(n, np.nan, np.float32) if scores is None else np.asarray(scores, np.float32))
        if isinstance(provenance, str):
            provenance = [provenance] * n
        self._set("provenance", np.asarray(list(provenance), dtype=object).reshape(-1))
        self._set("crowd", np.zeros(n, bool) if crowd is None else np.asarray(crowd, dtype=bool).reshape(-1))
        for name, value in extra.items():
            self._set(name, value)
        self._check()

    # ------------------------------------------------------------------ fields

    @property
    def image_size(self) -> tuple[int, int]:
        """(height, width) of the image."""
        return self._image_size

    @property
    def fields(self) -> dict[str, np.ndarray]:
        """All fields by name (read-only arrays)."""
        return dict(self._fields)

    def has(self, name: str) -> bool:
        return name in self._fields

    def __getattr__(self, name: str) -> np.ndarray:
        fields = self.__dict__.get("_fields")
        if fields is not None and name in fields:
            return fields[name]
        raise AttributeError(f"Instances has no field {name!r}")

    def __len__(self) -> int:
        return len(self._fields["shapes"])

    def __iter__(self) -> NoReturn:
        raise TypeError("Instances is not iterable; index it (inst[i]) or read a field (inst.shapes)")

    def __getitem__(self, item: int | slice | np.ndarray | Sequence[int]) -> Instances:
        """The objects picked by an index, slice, index array or boolean mask, all fields together."""
        if isinstance(item, (int, np.integer)):
            if not -len(self) <= item < len(self):
                raise IndexError(f"index {item} out of range for {len(self)} instances")
            item = [int(item)]
        elif not isinstance(item, slice):
            item = np.asarray(item)
            if item.dtype == bool and item.shape != (len(self),):
                raise IndexError(f"boolean index of shape {item.shape} for {len(self)} instances")
        return self._with({name: value[item] for name, value in self._fields.items()})

    def with_fields(self, **changes: Any) -> Instances:
        """A copy with some fields replaced or added (same length)."""
        fields = dict(self._fields)
        fields.update(changes)
        return self._with(fields)

    def with_class_names(self, class_names: Sequence[str]) -> Instances:
        """The same objects against another class-name list (e.g. one with labels appended)."""
        out = self._with(self._fields)
        out.class_names = tuple(class_names)
        out._check()
        return out

    def without_field(self, name: str) -> Instances:
        if name in CORE_FIELDS:
            raise ValueError(f"{name!r} is a core field and cannot be removed")
        return self._with({k: v for k, v in self._fields.items() if k != name})

    @classmethod
    def cat(cls, items: Sequence[Instances]) -> Instances:
        """Concatenate the instances of one image (same size, class names and fields)."""
        if not items:
            raise ValueError("cannot concatenate an empty list of Instances")
        first = items[0]
        for other in items[1:]:
            if other.image_size != first.image_size or other.class_names != first.class_names:
                raise ValueError("Instances.cat needs the same image size and class names")
            if other._fields.keys() != first._fields.keys():
                raise ValueError(
                    f"Instances.cat needs the same fields: {sorted(first._fields)} vs {sorted(other._fields)}"
                )
        fields = {name: np.concatenate([it._fields[name] for it in items]) for name in first._fields}
        return first._with(fields)

    @classmethod
    def empty(cls, image_size: tuple[int, int], class_names: Sequence[str]) -> Instances:
        return cls(image_size, class_names=class_names)

    # ------------------------------------------------------------------ derived

    @property
    def labels(self) -> list[str]:
        """Class name of each object."""
        return [self.class_names[c] for c in self._fields["classes"]]

    @property
    def boxes(self) -> np.ndarray:
        """float64 [N, 4] (x1, y1, x2, y2) of each shape's outline (zeros for an empty shape)."""
        out = np.zeros((len(self), 4))
        for i, shape in enumerate(self._fields["shapes"]):
            if not shape.is_empty():
                out[i] = shape.bounds()
        return out

    @property
    def areas(self) -> np.ndarray:
        """float64 [N] polygon area of each shape (see `shape_area`)."""
        return np.array([shape_area(s) for s in self._fields["shapes"]], dtype=np.float64)

    # ------------------------------------------------------------------ internals

    def _set(self, name: str, value: Any) -> None:
        array = value if isinstance(value, np.ndarray) else _as_array(value)
        array = array.view()
        array.setflags(write=False)
        self._fields[name] = array

    def _check(self) -> None:
        n = len(self._fields["shapes"])
        for name, value in self._fields.items():
            if len(value) != n:
                raise ValueError(f"field {name!r} has length {len(value)}, expected {n} (the number of shapes)")
        if not all(isinstance(s, Shape) for s in self._fields["shapes"]):
            raise TypeError("shapes must be Shape objects")
        classes = self._fields["classes"]
        if n and (classes.min() < 0 or classes.max() >= len(self.class_names)):
            raise ValueError(f"class index out of range 0..{len(self.class_names) - 1}: {classes.tolist()}")
        bad = sorted({p for p in self._fields["provenance"] if p not in PROVENANCES})
        if bad:
            raise ValueError(f"unknown provenance {bad}; expected one of {PROVENANCES}")

    def _with(self, fields: Mapping[str, Any]) -> Instances:
        core = {k: fields[k] for k in CORE_FIELDS}
        extra = {k: v for k, v in fields.items() if k not in CORE_FIELDS}
        return Instances(self._image_size, class_names=self.class_names, **core, **extra)

    def __repr__(self) -> str:
        h, w = self._image_size
        return f"Instances(num={len(self)}, image={w}x{h}, fields=[{', '.join(self._fields)}])"


def _object_array(items: Iterable[Any]) -> np.ndarray:
    items = list(items)
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def _as_array(value: Any) -> np.ndarray:
    """Numbers (also nested, e.g. coefficient rows) become numeric arrays; anything else an object array."""
    try:
        array = np.asarray(value)
    except ValueError:  # ragged
        return _object_array(value)
    return _object_array(value) if array.dtype.kind in "OUS" else array
