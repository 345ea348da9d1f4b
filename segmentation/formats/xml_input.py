"""What the XML formats (Pascal VOC, CVAT) share: parsing without the XML attacks, collecting problems by file and
element, and image names relative to the images folder (the rules themselves are _common's).

XML files come from other people: a document that declares entities (the "billion laughs" bomb, external entities
that read local files) is refused before any entity is expanded, so only plain element trees are read. The parser is
expat driven directly into an ElementTree builder (no extra dependency; defusedxml does the same with more code).
"""

from __future__ import annotations

from pathlib import Path
from xml.etree.ElementTree import Element, TreeBuilder
from xml.parsers import expat

from protolabel.segmentation.formats._common import name_inside
from protolabel.segmentation.formats.base import FormatError

MAX_REPORTED = 10  # problems named in one error message
MAX_COLLECTED = 50  # stop checking after this many


class _EntityDeclared(Exception):
    pass


def parse_xml(data: bytes, source: str) -> Element:
    """The root element of an XML document; FormatError naming `source` for a malformed one or one that declares
    entities (refused, never expanded)."""
    builder = TreeBuilder()
    parser = expat.ParserCreate()
    parser.buffer_text = True

    def refuse(*_args: object) -> int:
        raise _EntityDeclared

    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(data, True)
    except _EntityDeclared:
        raise FormatError(
            f"{source}: declares XML entities (line {parser.CurrentLineNumber}); they are refused, as annotation "
            "files never need them and they can expand to gigabytes or read other files"
        ) from None
    except expat.ExpatError as exc:
        raise FormatError(
            f"{source}: not well-formed XML: {expat.ErrorString(exc.code)} at line {exc.lineno} column {exc.offset + 1}"
        ) from None
    return builder.close()


class Problems:
    """The problems found in a dataset, each (where, what); raised together as one FormatError."""

    def __init__(self, source: str, kind: str) -> None:
        self.source = source
        self.kind = kind
        self.items: list[tuple[str, str]] = []

    def add(self, where: str, message: str) -> None:
        self.items.append((where, message))
        if len(self.items) >= MAX_COLLECTED:
            self.raise_if_any()

    def raise_if_any(self) -> None:
        if not self.items:
            return
        shown = "\n".join(f"  {where}: {message}" for where, message in self.items[:MAX_REPORTED])
        more = len(self.items) - MAX_REPORTED
        tail = f"\n  ... and {more} more" if more > 0 else ""
        raise FormatError(f"{self.source}: not a usable {self.kind}:\n{shown}{tail}")


def name_for_folder(base: Path, name: str, images_folder: Path) -> str:
    """The image `name` (relative to `base`, where the format keeps its images) relative to `images_folder` when
    `base/name` lies inside it; else `name` itself, for a folder that holds the same images by name. Paths are
    compared as written: nothing is read and no link is followed."""
    return name_inside(images_folder, base / name) or name


def short(value: object, limit: int = 60) -> str:
    """repr of a value for a message, cut short (a hostile file may hold megabytes in one attribute)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
