"""Frame folders for tests: each frame file a stamped crop of the astronaut photo (videos.stamped_frames) that
moves by a known step per number, so a frame read back says which file it came from."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import cv2

from tests.segmentation.media.videos import stamped_frames


def make_frame_folder(folder: Path, numbers: Iterable[int], *, name: str = "{:05d}.png") -> list[Path]:
    """Write frame `n` (stamped n) as folder/name.format(n) for each number; the paths in number order."""
    numbers = sorted(numbers)
    folder.mkdir(parents=True, exist_ok=True)
    frames = stamped_frames(max(numbers) + 1)
    paths = []
    for n in numbers:
        path = folder / name.format(n)
        assert cv2.imwrite(str(path), frames[n])
        paths.append(path)
    return paths
