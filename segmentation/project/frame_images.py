"""Video frames of a project as image files with their identity, for the per-frame COCO export and training.

A frame is a row of the store, not a file: a COCO file that names it needs a file with its pixels. Each
labelled frame is written once through media.frame_export (`STEM_NNNNNN.png`, its identity in a PNG text
chunk) and its COCO record carries the identity fields (docs/video.md) plus the project's `video_id`, so
`protolabel train` reads it like any image and a frame number can never drift to another picture.

Where the files go (`frame_files_for`): beside the COCO file in `<stem>.frames/`, named relative to the COCO
file's folder (as `label VIDEO` does); a COCO file inside the project folder (the app's default export, and
training's run folder) gets a hidden `.<stem>.frames/` (the folder walker never lists it, so the frames do not
become images of the project) named relative to the project folder, so `--images FOLDER` finds both.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.media.errors import VideoError
from protolabel.segmentation.media.frame_export import frame_record_fields, write_frame_png
from protolabel.segmentation.media.frame_folder import is_frame_folder_path
from protolabel.segmentation.media.reader import VideoReader
from protolabel.segmentation.project.recorded_sequence import open_recorded
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus, VideoRecord
from protolabel.segmentation.project.store import DamagedRowError, ProjectStore
from protolabel.segmentation.project.video_store import VideoStore

__all__ = ["FrameFiles", "FrameWriter", "LabelledFrame", "frame_files_for", "labelled_frames", "video_store_of"]


@dataclass(frozen=True)
class FrameFiles:
    """Where frame PNGs are written (`folder`) and what their COCO `file_name`s are relative to."""

    folder: Path
    relative_to: Path


def frame_files_for(coco_path: str | os.PathLike, project_folder: str | os.PathLike) -> FrameFiles:
    """The frame files of a COCO file at `coco_path` (the module's rule: hidden and named from the project
    folder when the file lies inside it, else beside it and named from its own folder)."""
    coco_path = Path(coco_path)
    parent = Path(os.path.realpath(coco_path.parent))
    root = Path(os.path.realpath(project_folder))
    if parent.is_relative_to(root):
        return FrameFiles(parent / f".{coco_path.stem}.frames", root)
    return FrameFiles(parent / f"{coco_path.stem}.frames", parent)


@dataclass(frozen=True)
class LabelledFrame:
    """A frame to export: its key, its video, its index there and its objects (as stored)."""

    key: str
    video: VideoRecord
    index: int
    objects: tuple[AnnotatedObject, ...] = field(default=())


@contextlib.contextmanager
def video_store_of(store: ProjectStore) -> Iterator[VideoStore]:
    """The store's video methods: the store itself when it has them, else a second connection to its folder
    (reads only; as the video auto-label job does)."""
    if isinstance(store, VideoStore):
        yield store
        return
    with VideoStore.open(store.folder) as videos:
        yield videos


def labelled_frames(
    store: ProjectStore, statuses: tuple[ImageStatus, ...] | None, *, verified_objects: bool = False
) -> tuple[list[LabelledFrame], list[str]]:
    """The frames to export with their objects, video by video in frame order, and why any was left out.

    `statuses`: frames with one of these statuses; `verified_objects`: frames holding a verified object
    (training on verified objects), whatever their status. A frame without objects is left out, as an
    unlabelled image is."""
    frames: list[LabelledFrame] = []
    skipped: list[str] = []
    with video_store_of(store) as videos:
        for video in videos.videos():
            if is_frame_folder_path(video.path):
                continue  # its frames are image files: exported as images, not written again
            for record in videos.frames(video.id):
                if record.damaged:
                    skipped.append(f"{record.key}: {record.damaged}")
                    continue
                if not verified_objects and (statuses is None or record.status not in statuses):
                    continue
                try:
                    objects = tuple(videos.frame_objects(record.key))
                except DamagedRowError as exc:
                    skipped.append(str(exc))
                    continue
                if verified_objects and not any(o.provenance is Provenance.VERIFIED for o in objects):
                    continue
                if objects:
                    frames.append(LabelledFrame(record.key, video, record.index, objects))
    return frames, skipped


class FrameWriter:
    """Writes frames of the project's videos as PNGs under `files.folder`, one reader per video kept open.

    `write(frame)` gives the frame's COCO file_name, its (height, width) and the identity fields of its record;
    VideoError (naming the file) when the video cannot be read or is not the one the project labelled."""

    def __init__(self, project_folder: str | os.PathLike, files: FrameFiles) -> None:
        self.project_folder = Path(project_folder)
        self.files = files
        self._readers: dict[int, VideoReader] = {}
        self._refused: dict[int, VideoError] = {}

    def __enter__(self) -> FrameWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        for reader in self._readers.values():
            reader.close()
        self._readers.clear()

    def reader(self, video: VideoRecord) -> VideoReader:
        """The open reader of `video` (the file inside the project folder, links not followed), checked to be
        the bytes the project labelled; the same refusal again for every frame of a refused video."""
        if video.id in self._refused:
            raise self._refused[video.id]
        if video.id not in self._readers:
            try:
                reader = open_recorded(self.project_folder, video)
            except VideoError as exc:
                self._refused[video.id] = VideoError(f"{exc}: its frames were left out")
                raise self._refused[video.id] from None
            if not isinstance(reader, VideoReader):  # callers copy a frame folder's files, never decode them
                raise ValueError(f"{video.path} is a frame folder: its frames are files already")
            self._readers[video.id] = reader
        return self._readers[video.id]

    def write(self, video: VideoRecord, index: int, folder: Path | None = None) -> tuple[str, tuple[int, int], dict]:
        """Write frame `index` of `video` into `folder` (default: the files' folder, in a subfolder per video)."""
        reader = self.reader(video)
        image = reader.read(index)
        target = folder if folder is not None else self.files.folder / video_folder_name(video.path)
        target.mkdir(parents=True, exist_ok=True)
        path = write_frame_png(image, target, video.path, reader.index, index)
        name = Path(os.path.relpath(path, self.files.relative_to)).as_posix()
        fields: dict[str, Any] = {"video_id": video.id, **frame_record_fields(video.path, reader.index, index)}
        return name, (int(image.shape[0]), int(image.shape[1])), fields


def video_folder_name(video_path: str) -> str:
    """The folder of a video's frame files: its path in the project with the extension's dot made '_'
    ('clips/a.mp4' -> 'clips/a_mp4'), so two videos never share one and no folder looks like a video file."""
    head, dot, suffix = video_path.rpartition(".")
    return f"{head}_{suffix}" if dot and "/" not in suffix else video_path
