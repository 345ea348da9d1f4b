"""What every format module in this package provides, so import and export can pick one by name or by content.

A format module defines a module-level `FORMAT: AnnotationFormat`. Reading gives the same `CocoDataset` the COCO
reader gives (so the import plan, its summary and its rules are shared); writing returns what the format could not
carry, in words a person reads in the export summary (never a silent loss).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from protolabel.segmentation.coco.dataset import CocoDataset


class FormatError(ValueError):
    """A file that is not a readable instance of its format; the message names the file and what is wrong."""


@dataclass(frozen=True)
class AnnotationFormat:
    """One format: `name` as typed after --from/--to, how to recognise, read and write it.

    `looks_like(path)`: whether a file or folder is of this format (cheap: reads a header at most).
    `read(path, images_folder)`: the dataset at `path`; image file names relative to `images_folder`.
    `write(dataset, out)`: writes `out` (a file or a folder, as the format has it) and returns notes on what was
    dropped or changed (e.g. "3 objects with holes: the holes were filled").
    `writes_folder`: `out` is a folder (one file per image, or a layout with images) rather than one file.

    An image whose `source_name` is an absolute path names where its file is (the project export sets it), for
    formats that point at or lay out the images (labelme's imagePath, YOLO's images/ folder).
    """

    name: str
    title: str
    looks_like: Callable[[Path], bool]
    read: Callable[[Path, Path], CocoDataset]
    write: Callable[[CocoDataset, Path], list[str]]
    writes_folder: bool = False
