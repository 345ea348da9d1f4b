"""A folder of numbered frame images (frame_0001.png, frame_0002.png, ...) read as a sequence, gaps named.

The number in a file's name is its frame's identity: frame numbers are the numbers written in the names, not
positions in a listing, so a missing file leaves a gap instead of shifting every later frame by one.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from protolabel.segmentation.folders import is_image_name, walk_folder
from protolabel.segmentation.images import natural_key
from protolabel.segmentation.media.errors import VideoError

_NUMBERED = re.compile(r"^(.*?)(\d+)$")


@dataclass(frozen=True)
class FrameFolder:
    """One numbered sequence in a folder: the files sharing a name prefix and extension, by their number.

    numbers[i] is the number written in names[i] (ascending); gaps are the (first, last) missing numbers
    between the first and the last frame; duplicates are files whose number another file already has."""

    folder: Path
    prefix: str  # the name before the number ('frame_')
    extension: str  # '.png', as written in the first name
    numbers: tuple[int, ...]
    names: tuple[str, ...]
    gaps: tuple[tuple[int, int], ...] = ()
    duplicates: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.names)

    def path(self, position: int) -> Path:
        """The file of the `position`-th frame present (0-based)."""
        return self.folder / self.names[position]

    def report_lines(self) -> list[str]:
        """What a person should know before labelling it: the gaps and the duplicate numbers."""
        lines = []
        if self.gaps:
            missing = sum(last - first + 1 for first, last in self.gaps)
            shown = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in self.gaps[:10])
            more = f", ... and {len(self.gaps) - 10} more gaps" if len(self.gaps) > 10 else ""
            lines.append(
                f"{self.folder / self.prefix}*{self.extension}: {missing} frame numbers missing ({shown}{more})"
            )
        if self.duplicates:
            lines.append(
                f"{self.folder}: left out {len(self.duplicates)} files whose frame number another file has: "
                + ", ".join(self.duplicates[:10])
            )
        return lines


def numbered_frames(folder: str | os.PathLike) -> list[FrameFolder]:
    """The numbered sequences among the images directly in `folder` (sub-folders are not read), largest first.

    VideoError when the folder cannot be listed or holds no numbered image."""
    root = Path(folder)
    try:
        walk = walk_folder(root, keep=is_image_name)
    except OSError as exc:
        raise VideoError(f"{root}: cannot read the frame folder ({exc.strerror or exc})") from None
    groups: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for name in walk.names:
        if "/" in name:
            continue
        stem, extension = os.path.splitext(name)
        match = _NUMBERED.match(stem)
        if match:
            groups.setdefault((match[1], extension.lower()), []).append((int(match[2]), name))
    if not groups:
        raise VideoError(f"{root}: no numbered frame images (like frame_0001.png) directly in this folder")
    sequences = [_sequence(root, prefix, files) for (prefix, _), files in groups.items()]
    return sorted(sequences, key=lambda s: (-len(s), natural_key(s.prefix)))


def _sequence(root: Path, prefix: str, files: list[tuple[int, str]]) -> FrameFolder:
    files.sort(key=lambda item: (item[0], natural_key(item[1])))
    numbers: list[int] = []
    names: list[str] = []
    duplicates: list[str] = []
    for number, name in files:
        if numbers and numbers[-1] == number:
            duplicates.append(name)
        else:
            numbers.append(number)
            names.append(name)
    gaps = tuple((a + 1, b - 1) for a, b in zip(numbers, numbers[1:]) if b - a > 1)
    return FrameFolder(
        folder=root,
        prefix=prefix,
        extension=os.path.splitext(names[0])[1],
        numbers=tuple(numbers),
        names=tuple(names),
        gaps=gaps,
        duplicates=tuple(duplicates),
    )
