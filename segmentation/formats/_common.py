"""What the format modules share: skipped entries named in a few lines, image sizes from headers, paths kept
inside a folder, and images placed beside an export."""

from __future__ import annotations

import os
import posixpath
import shutil
import tempfile
from pathlib import Path

import numpy as np

from protolabel.segmentation.image_headers import image_size_from_header
from protolabel.segmentation.images import ImageReadError, read_image
from protolabel.segmentation.input_files import open_input

NAMED = 10  # entries named per kind of problem; the rest are counted
HEAD_BYTES = 4096  # most image headers (PNG, BMP, JPEG without a large EXIF block) lie in the first page
MORE_HEAD_BYTES = 64 * 1024  # a JPEG's size after a long EXIF block


class Skipped:
    """Entries left out while reading, grouped by why, for the import notes (the first few named, all counted)."""

    def __init__(self) -> None:
        self.by_reason: dict[str, list[str]] = {}

    def add(self, where: str, reason: str) -> None:
        self.by_reason.setdefault(reason, []).append(where)

    def __len__(self) -> int:
        return sum(len(v) for v in self.by_reason.values())

    def lines(self, noun: str) -> list[str]:
        out = []
        for reason, names in self.by_reason.items():
            shown = "; ".join(names[:NAMED]) + (f"; ... and {len(names) - NAMED} more" if len(names) > NAMED else "")
            out.append(f"Skipped {count(len(names), noun)}, {reason}: {shown}")
        return out


def count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) of an image file from its header, decoding it only for a format whose header is not
    parsed; ImageReadError (naming the file) when it cannot be read."""
    try:
        with open_input(path) as handle:
            head = handle.read(HEAD_BYTES)
            size = image_size_from_header(head)
            if size is None and len(head) == HEAD_BYTES:
                size = image_size_from_header(head + handle.read(MORE_HEAD_BYTES - HEAD_BYTES))
    except OSError as exc:
        raise ImageReadError(f"{path}: cannot open file ({exc.strerror or exc})") from None
    if size is not None:
        return size
    height, width = read_image(path).shape[:2]
    return width, height


def name_inside(folder: Path, path: str | os.PathLike) -> str | None:
    """`path` (absolute, or relative to the current folder) as a '/'-separated name relative to `folder`, or
    None when it lies outside it. Only the names are compared: nothing is opened, no link followed."""
    root = os.path.normpath(os.path.abspath(folder))
    target = os.path.normpath(os.path.abspath(path))
    try:
        inside = os.path.commonpath([root, target]) == root and target != root
    except ValueError:  # another drive
        inside = False
    return Path(os.path.relpath(target, root)).as_posix() if inside else None


def clean_relative(name: str) -> str | None:
    """A relative name written in a file ('\\' or '/' separated), normalised; None when it climbs out."""
    name = posixpath.normpath(name.replace("\\", "/"))
    if name in ("", ".", "..") or name.startswith(("../", "/")) or (len(name) > 1 and name[1] == ":"):
        return None
    return name


def far_outside(points: np.ndarray, width: int, height: int) -> bool:
    """Vertices more than one image size outside the image (the COCO reader's rule: rasterising them would
    cost memory in proportion to the distance)."""
    return bool(
        (points[:, 0] < -width).any()
        or (points[:, 1] < -height).any()
        or (points[:, 0] > 2 * width).any()
        or (points[:, 1] > 2 * height).any()
    )


def place_image(source: Path, target: Path) -> None:
    """`target` as a hard link to `source` (no copy of the pixels) or, across file systems, a copy; put in place
    by a rename, so a half-written image never stands under its name."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        os.unlink(tmp)
        try:
            os.link(source, tmp, follow_symlinks=True)
        except OSError:
            shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise
