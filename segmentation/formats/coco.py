"""COCO instance segmentation as a FORMAT: the reader and writer of segmentation/coco, unchanged."""

from __future__ import annotations

from pathlib import Path

from protolabel.segmentation.coco.dataset import CocoDataset
from protolabel.segmentation.coco.export import write_coco
from protolabel.segmentation.coco.reader import read_coco
from protolabel.segmentation.formats.base import AnnotationFormat
from protolabel.segmentation.input_files import open_input

HEAD_BYTES = 64 * 1024


def looks_like(path: Path) -> bool:
    """A JSON file whose first 64 KiB name COCO's top-level lists (not labelme's `imagePath`, not YouTube-VIS's
    videos with `file_names`)."""
    if not path.is_file() or path.suffix.lower() != ".json":
        return False
    with open_input(path) as handle:
        head = handle.read(HEAD_BYTES)
    coco_keys = sum(key in head for key in (b'"images"', b'"annotations"', b'"categories"'))
    per_video = b'"videos"' in head and b'"file_names"' in head  # YouTube-VIS: annotations and categories too
    return coco_keys >= 2 and b'"imagePath"' not in head and not per_video


def read(path: Path, images_folder: Path) -> CocoDataset:
    """read_coco; file names are as the file writes them (the import decides which lie in the folder).
    The project import reads a large file with a helper process instead (project.importing.read_import_file)."""
    return read_coco(path)


def write(dataset: CocoDataset, out: Path) -> list[str]:
    """write_coco: everything is carried (holes and crowd regions as RLE), so there are no notes."""
    write_coco(out, dataset)
    return []


FORMAT = AnnotationFormat("coco", "COCO instance segmentation (JSON)", looks_like, read, write)
