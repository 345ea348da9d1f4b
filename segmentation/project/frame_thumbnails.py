"""Small pictures of a project's video frames (the file list's thumbnails), decoded through one reader per video.

A reader is opened on the index the project kept when the video was listed (project/video_index.py), so
opening one neither hashes nor demuxes the file again; a file that no longer matches that index changed
after it was listed, and its frames are refused rather than shown under numbers that may not hold. A video
refused once (changed, removed, damaged) is refused again with the same message without touching the file:
a list that redraws a hundred of its rows does not retry a hundred times. Frames read in ascending order
cost one seek per batch (the reader decodes on from its cursor), random ones a seek each: callers batch.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path

import cv2
import numpy as np

from protolabel.segmentation.media.errors import VideoChangedError, VideoError
from protolabel.segmentation.media.reader import VideoReader
from protolabel.segmentation.project.video_index import kept_index

__all__ = ["MAX_OPEN_VIDEOS", "FrameThumbnails", "small_rgb"]

_CACHE_FRAMES = 2  # thumbnails are read in ascending order: the reader's cache around the cursor has no use
# readers kept open at once: each holds its decoder's buffers (tens of MB at 1080p), and a person who expanded
# fifty videos one after another looks at the last few
MAX_OPEN_VIDEOS = 4


def small_rgb(image: np.ndarray, longest: int) -> np.ndarray:
    """A BGR uint8 H x W x 3 `image` as RGB uint8 scaled so its longer side is `longest` pixels (area
    averaging: a clean small picture, not an aliased one)."""
    if longest < 1:
        raise ValueError(f"a thumbnail's side must be at least 1 pixel, got {longest}")
    h, w = image.shape[:2]
    scale = longest / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = cv2.resize(np.ascontiguousarray(image), size, interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(small, cv2.COLOR_BGR2RGB)


class FrameThumbnails:
    """Thumbnails of frames of the videos in `folder` (a project folder), each video read through one
    reader kept open until `close` (the `max_open` used last; an older one is closed and opened again when
    its video is asked for again). One worker thread reads; `close` may come from another thread."""

    def __init__(self, folder: str | os.PathLike[str], longest: int, *, max_open: int = MAX_OPEN_VIDEOS) -> None:
        if max_open < 1:
            raise ValueError(f"max_open must be at least 1, got {max_open}")
        self.folder = Path(folder)
        self.longest = longest
        self.max_open = max_open
        self._readers: OrderedDict[str, VideoReader] = OrderedDict()  # least recently used first
        self._refused: dict[str, VideoError] = {}
        self._lock = threading.Lock()  # the readers dict between the worker and `close`
        self._closed = False

    def thumbnail(self, video: str, index: int) -> np.ndarray:
        """Frame `index` of `video` (a path in the folder) as an RGB array whose longer side is `longest`.

        VideoError (naming the file) when the video cannot be read, changed or went away; the same error
        again, without reading, for every later frame of a video refused that way. IndexError outside the
        video; FrameDecodeError (a VideoError) for one damaged frame, after which the others still read."""
        reader = self._reader(video)
        try:
            image = reader.read(index)
        except VideoChangedError as exc:
            self._refuse(video, exc)
            raise
        except VideoError as exc:
            if self._closed:  # closed while this frame was being read: a closed video, not a damaged one
                raise VideoError(f"{video}: the folder was closed") from exc
            raise
        return small_rgb(image, self.longest)

    def _reader(self, video: str) -> VideoReader:
        with self._lock:
            if self._closed:
                raise VideoError(f"{video}: the folder was closed")
            refused = self._refused.get(video)
            if refused is not None:  # a new one: raising one object again would grow its traceback each time
                raise type(refused)(str(refused))
            reader = self._readers.get(video)
            if reader is not None:
                self._readers.move_to_end(video)
        if reader is not None:
            return reader
        try:
            reader = self._open(video)
        except VideoError as exc:
            self._refuse(video, exc)
            raise
        unused: list[VideoReader] = []
        with self._lock:
            if not self._closed:
                self._readers[video] = reader
                while len(self._readers) > self.max_open:
                    unused.append(self._readers.popitem(last=False)[1])
        for old in unused:
            old.close()
        if not self._closed:
            return reader
        reader.close()
        raise VideoError(f"{video}: the folder was closed")

    def _open(self, video: str) -> VideoReader:
        """The video's reader on its kept index; VideoChangedError when the file is not the bytes it describes."""
        parts = video.split("/")
        if video.startswith("/") or "\\" in video or any(p in ("", ".", "..") for p in parts):
            raise VideoError(f"{video!r} is not a '/'-separated path inside {self.folder}: not read")
        path = self.folder / video
        index = kept_index(self.folder, video)
        if index is not None:
            try:
                now = os.stat(path, follow_symlinks=False)
            except FileNotFoundError:
                raise VideoChangedError(
                    f"{path}: the file was removed after it was listed; its labels are kept, restore the file to "
                    "read its frames, then open the folder again"
                ) from None
            except OSError as exc:
                raise VideoError(f"{path}: cannot check the file ({exc.strerror or exc})") from None
            if (now.st_size, now.st_mtime_ns) != (index.size, index.mtime_ns):
                raise _changed(path)
        reader = VideoReader(path, index=index, cache_frames=_CACHE_FRAMES)
        if index is not None and reader.index is not index:  # changed between the check and the open
            reader.close()
            raise _changed(path)
        return reader

    def _refuse(self, video: str, error: VideoError) -> None:
        with self._lock:
            self._refused[video] = error
            reader = self._readers.pop(video, None)
        if reader is not None:
            reader.close()

    def close(self) -> None:
        """Close every reader (waiting for a read under way); later thumbnails raise VideoError."""
        with self._lock:
            self._closed = True
            readers, self._readers = self._readers, OrderedDict()
        for reader in readers.values():
            reader.close()

    def open_videos(self) -> list[str]:
        """The videos with a reader open now, least recently used first."""
        with self._lock:
            return list(self._readers)


def _changed(path: Path) -> VideoChangedError:
    return VideoChangedError(
        f"{path}: the file was changed after it was listed; open the folder again so its frames are numbered anew"
    )
