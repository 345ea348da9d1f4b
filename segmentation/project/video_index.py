"""A video's frame index kept with its project (FOLDER/.protolabel/video-index/), so that opening the folder
again, an auto-label run, a propagation or an export does not hash and demux the whole file each time.

An index names the size and modification time of the bytes it describes, and VideoReader builds a new one
when the file is not those bytes any more; that new one is kept in its place. A missing, damaged or foreign
entry is built again: the cache is never the reason something fails. The folder is made and read as every
project file is (segmentation/project_files.py: never through a link).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from protolabel.segmentation.files import atomic_write_bytes
from protolabel.segmentation.media.frame_index import FrameIndex
from protolabel.segmentation.media.reader import VideoReader
from protolabel.segmentation.project_files import project_subdir, read_project_file

INDEX_DIR_NAME = "video-index"
MAX_INDEX_BYTES = 64 << 20  # a 20-minute 30 fps video's index is about 1 MB of JSON


def _entry(folder: Path, video: str, *, create: bool = False) -> Path:
    name = hashlib.sha256(video.encode()).hexdigest()[:32] + ".json"
    return project_subdir(folder, INDEX_DIR_NAME, create=create) / name


def kept_index(folder: str | os.PathLike, video: str) -> FrameIndex | None:
    """The index kept for the project's video `video` (a path in the folder), or None when there is none usable."""
    try:
        data = json.loads(read_project_file(_entry(Path(folder), video), MAX_INDEX_BYTES))
        return FrameIndex.from_dict(data["index"]) if data.get("video") == video else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):  # none yet, a link, damaged: build again
        return None


def keep_index(folder: str | os.PathLike, video: str, index: FrameIndex) -> None:
    """Keep `index` for the project's video `video`; a folder that cannot take it (read-only) is left as it is."""
    data = json.dumps({"video": video, "index": index.to_dict()}, separators=(",", ":")).encode()
    try:
        atomic_write_bytes(_entry(Path(folder), video, create=True), data)
    except OSError:
        pass  # the next open builds the index again, as without a cache


def open_project_video(folder: str | os.PathLike, video: str) -> VideoReader:
    """A reader of the project's video file `video` (links not followed) on its kept index, which is kept
    again when the reader had to build a new one. VideoError as VideoReader's."""
    index = kept_index(folder, video)
    reader = VideoReader(Path(folder) / video, index=index)
    if reader.index is not index:
        keep_index(folder, video, reader.index)
    return reader
