"""Running a model over a video's frames for `predict VIDEO` and `label VIDEO`: every frame in full, or a
YolactEdge video model's keyframe path (`--keyframe-interval`), each result tagged with its frame identity."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from protolabel.segmentation.cli import CommandError
from protolabel.segmentation.media.errors import FrameDecodeError, VideoError
from protolabel.segmentation.media.reader import VideoReader, is_video_name

if TYPE_CHECKING:  # the engine pulls in torch
    from protolabel.segmentation.detections import Detections
    from protolabel.segmentation.engine import YolactEngine


@dataclass(frozen=True)
class FrameResult:
    """One frame's detections: its number, the image (BGR, rotation applied) and whether it ran in full."""

    index: int
    image: np.ndarray
    detections: Detections
    keyframe: bool


def is_video_input(item: str) -> bool:
    """A command-line input that names a video file (by its extension; a folder never is one)."""
    return is_video_name(item) and not Path(item).is_dir()


def open_video(path: str | Path) -> VideoReader:
    """The video a user named on the command line (a link they named is followed); CommandError if unreadable."""
    try:
        reader = VideoReader(path, follow_links=True)
    except VideoError as exc:
        raise CommandError(str(exc)) from None
    if reader.note:
        print(f"warning: {reader.note}", file=sys.stderr)
    return reader


def frame_results(
    engine: YolactEngine,
    reader: VideoReader,
    frames: Sequence[int],
    keyframe_interval: int | None,
    on_skip: Callable[[str], None] = lambda text: print(f"skipped: {text}", file=sys.stderr),
) -> Iterator[FrameResult]:
    """Detections for `frames` of the video, in the order given. With a keyframe interval the frames run as one
    sequence; a frame after a gap (a skipped or unreadable one) is a keyframe, so features are never warped
    across frames that were not seen. A frame that cannot be decoded is skipped and said through `on_skip`;
    a file changed meanwhile stops the run (VideoChangedError)."""
    runner = None
    if keyframe_interval is not None:
        from protolabel.segmentation.video import SequenceRunner, VideoPathError

        try:
            runner = SequenceRunner(engine, keyframe_interval)
        except VideoPathError as exc:
            raise CommandError(str(exc)) from None
    for index in frames:
        try:
            image = reader.read(index)
        except FrameDecodeError as exc:
            on_skip(str(exc))
            continue
        if runner is None:
            detections = engine.predict([image])[0]
            keyframe = True
        else:
            detections = runner.predict_frame(index, image)
            keyframe = runner.last_was_keyframe
        yield FrameResult(index, image, detections, keyframe)
