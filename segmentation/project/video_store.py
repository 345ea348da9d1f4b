"""Videos, their frames and tracks in the project store (schema 3, docs/adr/0006-video-frames-in-the-store.md).

A frame is an image of the store under its frame key ("clip.mp4#000123"), so its objects, status,
compare-and-set edits and undo are an image's; this adds what a video has beyond that: each frame's
identity in its video, and tracks, the objects of many frames that are one thing. Track edits are
`TrackEdit`s, compare-and-set on every row they touch; `apply_track_edit(edit.inverted())` undoes one.

`VideoStore` is composed of one part per job: videos and frames (video_frames), track reads (track_queries),
track edits (track_edits) and the compare-and-set writing they share (track_writes).
"""

from __future__ import annotations

from protolabel.segmentation.project.track_edits import TrackEdits
from protolabel.segmentation.project.track_queries import TrackQueries, TrackSummary
from protolabel.segmentation.project.video_frames import FRAME_KEY_DIGITS, NotTheLabelledVideoError, frame_key

__all__ = ["FRAME_KEY_DIGITS", "NotTheLabelledVideoError", "TrackSummary", "VideoStore", "frame_key"]


class VideoStore(TrackEdits, TrackQueries):
    """The project store with its videos, frames and tracks (one connection, one thread, as ProjectStore)."""
