"""Opening a video or frame folder the project recorded, checked to be the one it labelled.

Every reader of a recorded sequence (the auto-label and propagation jobs, the COCO and YouTube-VIS exports)
opens it here, so the check is one: a file whose bytes changed, or a frame folder whose frames are now
another size, is refused instead of having the project's labels shown on, or exported with, other pictures.
The refusal says what is wrong; each caller adds what it did instead (nothing run, frames left out).
"""

from __future__ import annotations

import os
from pathlib import Path

from protolabel.segmentation.media.errors import VideoError
from protolabel.segmentation.media.frame_folder import FrameFolderReader, frame_sequence_at, is_frame_folder_path
from protolabel.segmentation.media.reader import VideoReader
from protolabel.segmentation.project.records import VideoRecord
from protolabel.segmentation.project.video_index import open_project_video

__all__ = ["open_recorded"]


def open_recorded(folder: str | os.PathLike, record: VideoRecord) -> VideoReader | FrameFolderReader:
    """The reader of the sequence `record` describes in the project folder `folder` (a video file, links not
    followed, or a frame folder whose frames must have the recorded size). VideoError naming it when it cannot
    be read or is not what the project labelled (another SHA-256: the file's content, or the folder's frame
    naming, changed)."""
    root = Path(folder)
    reader: VideoReader | FrameFolderReader
    if is_frame_folder_path(record.path):
        reader = FrameFolderReader(root, frame_sequence_at(root, record.path), size=(record.width, record.height))
    else:
        reader = open_project_video(root, record.path)
    if reader.sha256 != record.sha256:
        reader.close()
        raise VideoError(f"{record.path} is not the video this project labelled (its content changed)")
    return reader
