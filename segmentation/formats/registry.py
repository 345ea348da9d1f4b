"""The annotation formats of this package, found by module (each defines `FORMAT`), by name or by content.

A new format is a new module here with a module-level `FORMAT`; nothing else lists them.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from pathlib import Path

from protolabel.segmentation import formats as _package
from protolabel.segmentation.formats.base import AnnotationFormat, FormatError

_NOT_FORMATS = frozenset({"base", "registry"})


@functools.cache
def all_formats() -> tuple[AnnotationFormat, ...]:
    """Every format module's FORMAT, COCO first (the default), then by name."""
    found = []
    for module in pkgutil.iter_modules(_package.__path__):
        if module.name in _NOT_FORMATS or module.name.startswith("_"):
            continue
        candidate = getattr(importlib.import_module(f"{_package.__name__}.{module.name}"), "FORMAT", None)
        if isinstance(candidate, AnnotationFormat):
            found.append(candidate)
    return tuple(sorted(found, key=lambda f: (f.name != "coco", f.name)))


def format_names() -> tuple[str, ...]:
    return tuple(f.name for f in all_formats())


def by_name(name: str) -> AnnotationFormat:
    """The format called `name` (as typed after --from/--to); FormatError naming the known ones otherwise."""
    for fmt in all_formats():
        if fmt.name == name.strip().lower():
            return fmt
    raise FormatError(f"unknown format {name!r}; the formats are {', '.join(format_names())}")


def detect(path: str | Path) -> AnnotationFormat:
    """The one format whose `looks_like` accepts `path`; FormatError when none or several do (the message
    names them and says to choose one by name)."""
    path = Path(path)
    matches = [fmt for fmt in all_formats() if _looks_like(fmt, path)]
    if len(matches) == 1:
        return matches[0]
    names = ", ".join(format_names())
    if not matches:
        raise FormatError(f"{path}: not recognised as any of the formats ({names}); name one with --from")
    found = " and ".join(f.name for f in matches)
    raise FormatError(f"{path}: could be {found}; name one with --from")


def _looks_like(fmt: AnnotationFormat, path: Path) -> bool:
    """`fmt.looks_like(path)`, a file it cannot read counting as not of its format."""
    try:
        return fmt.looks_like(path)
    except (OSError, ValueError):
        return False
