"""A folder of numbered frame images (frame_0001.png, frame_0002.png, ...) read as a sequence, gaps named.

The number in a file's name is its frame's identity: frame numbers are the numbers written in the names, not
positions in a listing, so a missing file leaves a gap instead of shifting every later frame by one. In a
project, a sub-folder of numbered frames is a sequence (`frame_sequences`, docs/adr/0006): its frames are
its files, keyed by their paths, so labels stay on a file whatever its position on the timeline.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from protolabel.segmentation.folders import is_image_name, walk_folder
from protolabel.segmentation.images import ImageReadError, natural_key, read_image
from protolabel.segmentation.media.errors import FrameDecodeError, VideoError

_NUMBERED = re.compile(r"^(.*?)(\d+)$")
_NUMBERED_NAME = re.compile(r"(.*?)(\d+)(\.[^./]*)")  # prefix, number, extension of a file name (frame_0012.png)


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


def is_frame_folder_path(path: str) -> bool:
    """Whether a sequence's path in the project names a folder of numbered frames ('walk/'), not a video file."""
    return path.endswith("/")


def frame_number(name: str) -> tuple[str, int] | None:
    """(the name without its number, the number) of a numbered frame file ('a/frame_0012.png' gives
    ('a/frame_.png', 12)), or None when its name ends in no number."""
    stem, extension = os.path.splitext(name)
    match = _NUMBERED.match(stem)
    return (f"{match[1]}{extension.lower()}", int(match[2])) if match else None


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


# ---------------------------------------------------------------- frame folders as sequences of a project

MIN_SEQUENCE_FRAMES = 5  # fewer numbered images in a folder are a handful of photos, not a sequence
SIZE_SAMPLES = 16  # frames decoded, evenly spread, to see a new sequence's frames are all one size


class NotAFrameSequenceError(VideoError):
    """Numbered like frames, but its images are not all one size (a camera's IMG_0001.JPG, ... in both
    orientations): they stay loose images."""


_PATTERN_HASH_PREFIX = "protolabel frame folder\n"


@dataclass(frozen=True)
class FrameSequence:
    """A sub-folder of a project listed as one sequence: every image directly in it is <prefix><number><ext>.

    path is the folder relative to the project with a trailing '/' ('walk/'; no file name ends so, so a
    sequence's path never names a file); keys are the frame files' '/'-separated paths in number order (a
    frame's key in the store is its file's path); stride is the step between the numbers (5 for 00000,
    00005, ...: a folder of every fifth frame has no gaps); gaps are the (first, last) missing numbers."""

    path: str
    prefix: str  # the file name before the number ('frame_')
    extension: str  # lower case ('.png')
    digits: int  # how many digits the first frame's number is written with (00017: 5)
    numbers: tuple[int, ...]
    keys: tuple[str, ...]
    stride: int = 1
    gaps: tuple[tuple[int, int], ...] = ()

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def pattern(self) -> str:
        """The frames' names as one pattern: 'walk/frame_#.png'."""
        return f"{self.path}{self.prefix}#{self.extension}"

    @property
    def sha256(self) -> str:
        """What stands for a video file's SHA-256 in the store: the hash of the name pattern, so a folder whose
        frames are named otherwise now is not taken for the one the project labelled."""
        return hashlib.sha256((_PATTERN_HASH_PREFIX + self.pattern).encode()).hexdigest()

    def number_text(self, number: int) -> str:
        """A frame number written as the files write it (00017)."""
        return f"{number:0{self.digits}d}"

    def missing_message(self) -> str | None:
        """'walk/: frames 00017-00019 are missing' (None without gaps): said when the folder is listed."""
        if not self.gaps:
            return None
        runs = [self.number_text(a) if a == b else f"{self.number_text(a)}-{self.number_text(b)}" for a, b in self.gaps]
        count = sum((b - a) // self.stride + 1 for a, b in self.gaps)
        shown = ", ".join(runs[:5]) + (f" and {len(runs) - 5} more gaps" if len(runs) > 5 else "")
        verb = "frame {} is missing" if count == 1 else "frames {} are missing"
        where = "" if count == 1 or len(runs) == 1 else f" ({count:,} frames)"
        return f"{self.path}: {verb.format(shown)}{where}"


def frame_sequences(names: Iterable[str], *, min_frames: int = MIN_SEQUENCE_FRAMES) -> list[FrameSequence]:
    """The sub-folders among '/'-separated image paths that are frame sequences, by path.

    A folder is one when it directly holds at least `min_frames` images, all named with one prefix, one
    extension and a number, no two with the same number; one other image (cover.jpg), a second pattern or a
    repeated number (f1.png and f01.png) leaves every image of it a loose image. The project's top folder is
    never one (a sequence is listed under its folder's name)."""
    folders: dict[str, list[str]] = {}
    for name in names:
        folder, sep, _ = name.rpartition("/")
        if sep:
            folders.setdefault(folder, []).append(name)
    found = [s for folder, files in folders.items() if (s := _folder_sequence(folder, files, min_frames))]
    return sorted(found, key=lambda s: natural_key(s.path))


def _folder_sequence(folder: str, files: list[str], min_frames: int) -> FrameSequence | None:
    if len(files) < min_frames:
        return None
    start = len(folder) + 1
    first = _NUMBERED_NAME.fullmatch(files[0], start)
    if first is None:
        return None
    prefix, extension = first[1], first[3].lower()
    numbered: list[tuple[int, str, str]] = []  # (number, digits as written, path)
    for path in files:
        match = _NUMBERED_NAME.fullmatch(path, start)  # one pass per name: folders of 100,000 frames exist
        if match is None or match[1] != prefix or match[3].lower() != extension:
            return None
        numbered.append((int(match[2]), match[2], path))
    numbered.sort(key=lambda item: item[0])
    numbers = [n for n, _, _ in numbered]
    if any(a == b for a, b in zip(numbers, numbers[1:])):
        return None  # f1.png and f01.png: which is frame 1 is not the program's guess
    stride = math.gcd(*(b - a for a, b in zip(numbers, numbers[1:]))) or 1
    gaps = tuple((a + stride, b - stride) for a, b in zip(numbers, numbers[1:]) if b - a > stride)
    return FrameSequence(
        path=f"{folder}/",
        prefix=prefix,
        extension=extension,
        digits=len(numbered[0][1]),
        numbers=tuple(numbers),
        keys=tuple(p for _, _, p in numbered),
        stride=stride,
        gaps=gaps,
    )


def frame_sequence_at(root: str | os.PathLike, path: str) -> FrameSequence:
    """The frame sequence of the project folder `root` at `path` ('walk/') as the folder holds it now;
    VideoError naming the folder when it cannot be listed or is no longer one sequence."""
    folder = Path(root) / path
    try:
        with os.scandir(folder) as listing:
            names = [
                f"{path}{e.name}"
                for e in listing
                if not e.name.startswith(".") and is_image_name(e.name) and e.is_file()
            ]
    except OSError as exc:
        raise VideoError(f"{path}: the frame folder cannot be read ({exc.strerror or exc})") from None
    sequences = frame_sequences(names)
    if not sequences:
        raise VideoError(
            f"{path}: no longer a folder of numbered frames (fewer than {MIN_SEQUENCE_FRAMES} images, or "
            "names that do not all follow one numbering); open the folder again"
        )
    return sequences[0]


class FrameFolderReader:
    """The frames of a frame sequence by position (0-based, in number order), read from their files.

    Every frame must have `size`, the size the project recorded: a frame replaced by another picture is
    refused by name instead of shown under the others' labels. Without one (a sequence new to the project)
    up to SIZE_SAMPLES frames spread over it are read first, and NotAFrameSequenceError says when they are
    not all one size (photos numbered like frames). A linked frame is refused too: a sequence's frames are
    files of its folder. Nothing is held open."""

    def __init__(self, root: str | os.PathLike, sequence: FrameSequence, *, size: tuple[int, int] | None = None):
        self.root = Path(root)
        self.sequence = sequence
        self.path = self.root / sequence.path
        self.sha256 = sequence.sha256
        self.size_bytes = 0
        links = []
        for key in sequence.keys:
            try:
                st = os.lstat(self.root / key)
            except OSError:
                continue  # gone since listed: its read says so
            if stat.S_ISLNK(st.st_mode):
                links.append(key)
            else:
                self.size_bytes += st.st_size
        self.size = size if size is not None else self._common_size()
        notes = [m for m in (sequence.missing_message(),) if m]
        if links:
            which = "which is" if len(links) == 1 else "which are"
            notes.append(f"{sequence.path}: {_links(links)}, {which} not read (copy the frames in instead)")
        self.note: str | None = "; ".join(notes) or None

    def _common_size(self) -> tuple[int, int]:
        """The size the sampled frames share; an unreadable one is skipped (its own read says why)."""
        count = len(self.sequence)
        samples = sorted({round(i * (count - 1) / (SIZE_SAMPLES - 1)) for i in range(SIZE_SAMPLES)})
        sizes: dict[tuple[int, int], str] = {}
        reasons = []
        for position in samples:
            try:
                image = self._read_file(position)
            except ImageReadError as exc:
                reasons.append(str(exc))
                continue
            sizes.setdefault((image.shape[1], image.shape[0]), self.sequence.keys[position])
        if not sizes:
            raise VideoError(f"{self.sequence.path}: none of the frames tried can be read ({reasons[0]})")
        if len(sizes) > 1:
            (a, key_a), (b, key_b) = list(sizes.items())[:2]
            raise NotAFrameSequenceError(
                f"{self.sequence.path}: its images are not all one size ({key_a} is {a[0]}x{a[1]}, {key_b} is "
                f"{b[0]}x{b[1]}), so they are listed as images, not as the frames of a sequence"
            )
        return next(iter(sizes))

    def __len__(self) -> int:
        return len(self.sequence)

    @property
    def keys(self) -> tuple[str, ...]:
        return self.sequence.keys

    def _read_file(self, position: int) -> np.ndarray:
        return read_image(self.root / self.sequence.keys[position], follow_links=False)

    def read(self, index: int) -> np.ndarray:
        """Frame `index` as BGR uint8; FrameDecodeError naming the file when it cannot be read or is not of
        the sequence's size, IndexError outside 0..len-1."""
        if not 0 <= index < len(self.sequence):
            raise IndexError(f"frame {index} is outside 0..{len(self.sequence) - 1} of {self.sequence.path}")
        try:
            image = self._read_file(index)
        except ImageReadError as exc:
            raise FrameDecodeError(str(exc)) from None
        width, height = self.size
        if image.shape[:2] != (height, width):
            key = self.sequence.keys[index]
            raise FrameDecodeError(
                f"{key} is {image.shape[1]}x{image.shape[0]} pixels but the frames of {self.sequence.path} are "
                f"{width}x{height}: it is not a frame of this sequence (replaced?); put a frame of that size "
                "back, its labels are kept"
            )
        return image

    def close(self) -> None:
        """Nothing to close (frames are read file by file); here so a reader of either kind closes alike."""

    def __enter__(self) -> FrameFolderReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _links(keys: list[str]) -> str:
    if len(keys) == 1:
        return f"{keys[0]} is a link"
    return ", ".join(keys[:3]) + (f" and {len(keys) - 3} more" if len(keys) > 3 else "") + " are links"
