"""The timeline of one video: frame count, cursor, playback, per-frame markers and the selected track's frames.

Qt-free state with change events (psygnal): the timeline widget draws it and changes it only through
its commands, and the wiring decodes the frame under the cursor on a worker when `cursor_changed`
fires. Frames are 0-based indices into the video's decoded order; a video with no frames has no
cursor (None) and every command leaves it so.
"""

from __future__ import annotations

import math
import operator
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from enum import Enum

from psygnal import Signal, SignalGroup

DEFAULT_RATE = 25.0  # frames per second when a video states none
BIG_STEP = 10  # frames moved by Shift+Left/Right


class Marker(str, Enum):
    """What a timeline marker says about a frame."""

    KEYFRAME = "keyframe"  # a keyframe of the model run or of the selected track
    EDITED = "edited"  # a person changed this frame's objects
    REVIEWED = "reviewed"  # a person accepted this frame's objects
    UNREVIEWED = "unreviewed"  # labelled by the model, not yet looked at


class TimelineEvents(SignalGroup):
    video_changed = Signal(int)  # the new frame count (markers, track and cursor were reset too)
    cursor_changed = Signal(object)  # the frame under the cursor, None for a video with no frames
    playing_changed = Signal(bool)
    rate_changed = Signal(float)  # frames per second
    markers_changed = Signal(object)  # the Marker whose frames changed
    track_changed = Signal(object)  # the selected track's id, None when no track is selected


def _frames(frames: Iterable[int], count: int, what: str) -> tuple[int, ...]:
    """Sorted unique frame indices, each checked to lie in 0..count-1."""
    out = sorted({operator.index(f) for f in frames})
    if out and (out[0] < 0 or out[-1] >= count):
        bad = out[0] if out[0] < 0 else out[-1]
        has = f"its frames are 0..{count - 1}" if count else "it has no frames"
        raise ValueError(f"{what}: frame {bad} is not a frame of this video ({has})")
    return tuple(out)


def _rate(rate: float) -> float:
    rate = float(rate)
    if not math.isfinite(rate) or rate <= 0:
        raise ValueError(f"a play rate must be a positive number of frames per second, not {rate}")
    return rate


def runs(frames: tuple[int, ...]) -> list[tuple[int, int]]:
    """Sorted unique frames as inclusive (first, last) runs of consecutive frames: the bars of a track."""
    out: list[tuple[int, int]] = []
    for frame in frames:
        if out and frame == out[-1][1] + 1:
            out[-1] = (out[-1][0], frame)
        else:
            out.append((frame, frame))
    return out


class Timeline:
    """Cursor, playback and markers of one video; each command that moves the cursor emits `cursor_changed`.

    A person's commands (step, jump, scrub, home/end) pause playback; `advance` is the playback clock's step
    and stops at the last frame.
    """

    def __init__(self, frame_count: int = 0, rate: float = DEFAULT_RATE) -> None:
        self.events = TimelineEvents()
        self._count = 0
        self._cursor: int | None = None
        self._playing = False
        self._rate = _rate(rate)
        self._markers: dict[Marker, tuple[int, ...]] = {kind: () for kind in Marker}
        self._track_id: object = None
        self._track_frames: tuple[int, ...] = ()
        self._set_count(frame_count)

    # ------------------------------------------------------------------ state
    @property
    def frame_count(self) -> int:
        return self._count

    @property
    def cursor(self) -> int | None:
        return self._cursor

    @property
    def playing(self) -> bool:
        return self._playing

    @property
    def rate(self) -> float:
        """Playback speed in frames per second (the video's own rate)."""
        return self._rate

    @property
    def track_id(self) -> object:
        return self._track_id

    @property
    def track_frames(self) -> tuple[int, ...]:
        """Sorted frames where the selected track has an object (empty when none is selected)."""
        return self._track_frames

    def markers(self, kind: Marker) -> tuple[int, ...]:
        """Sorted frames that carry this marker."""
        return self._markers[kind]

    def markers_at(self, frame: int) -> list[Marker]:
        """The markers of one frame, in Marker order."""
        return [kind for kind, frames in self._markers.items() if _contains(frames, frame)]

    def track_has(self, frame: int) -> bool:
        """Whether the selected track has an object on this frame."""
        return _contains(self._track_frames, frame)

    def track_runs(self) -> list[tuple[int, int]]:
        """The selected track's frames as inclusive (first, last) runs: one bar per run."""
        return runs(self._track_frames)

    # ------------------------------------------------------------------ setting
    def set_video(self, frame_count: int, rate: float = DEFAULT_RATE) -> None:
        """Show another video: cursor on its first frame, paused, no markers, no track."""
        rate = _rate(rate)
        self._set_playing(False)
        self._markers = {kind: () for kind in Marker}
        self._track_id, self._track_frames = None, ()
        self._set_count(frame_count)
        self._rate = rate
        self.events.video_changed.emit(self._count)
        self.events.rate_changed.emit(rate)
        self.events.cursor_changed.emit(self._cursor)

    def set_rate(self, rate: float) -> None:
        rate = _rate(rate)
        if rate != self._rate:
            self._rate = rate
            self.events.rate_changed.emit(rate)

    def set_markers(self, kind: Marker, frames: Iterable[int]) -> None:
        """Replace the frames that carry one kind of marker; a frame outside the video is a ValueError."""
        checked = _frames(frames, self._count, f"{kind.value} markers")
        if checked != self._markers[kind]:
            self._markers[kind] = checked
            self.events.markers_changed.emit(kind)

    def set_track(self, track_id: object, frames: Iterable[int]) -> None:
        """Select a track (any hashable id) and the frames where it has an object; None clears it."""
        checked = () if track_id is None else _frames(frames, self._count, f"track {track_id}")
        if (track_id, checked) != (self._track_id, self._track_frames):
            self._track_id, self._track_frames = track_id, checked
            self.events.track_changed.emit(track_id)

    # ------------------------------------------------------------------ commands
    def scrub_to(self, frame: int) -> None:
        """Put the cursor on a frame (clamped to the video: a drag past either end stops there); pauses."""
        self.pause()
        if self._count:
            self._move(min(max(operator.index(frame), 0), self._count - 1))

    def step(self, frames: int) -> None:
        """Move the cursor by a number of frames, stopping at either end; pauses."""
        if self._cursor is not None:
            self.scrub_to(self._cursor + operator.index(frames))
        else:
            self.pause()

    def home(self) -> None:
        self.scrub_to(0)

    def end(self) -> None:
        self.scrub_to(self._count - 1)

    def next_marker(self, kind: Marker) -> bool:
        """Jump to the first frame after the cursor with this marker; False (and no move) when there is none."""
        self.pause()
        frames = self._markers[kind]
        if self._cursor is None:
            return False
        i = bisect_right(frames, self._cursor)
        if i == len(frames):
            return False
        self._move(frames[i])
        return True

    def previous_marker(self, kind: Marker) -> bool:
        """Jump to the last frame before the cursor with this marker; False (and no move) when there is none."""
        self.pause()
        frames = self._markers[kind]
        if self._cursor is None:
            return False
        i = bisect_left(frames, self._cursor)
        if i == 0:
            return False
        self._move(frames[i - 1])
        return True

    # ------------------------------------------------------------------ playback
    def play(self) -> None:
        """Start playback; from the last frame it starts again at the first. Nothing to play: stays paused."""
        if self._playing or self._cursor is None:
            return
        if self._cursor == self._count - 1 and self._count > 1:
            self._move(0)
        if self._count > 1:
            self._set_playing(True)

    def pause(self) -> None:
        self._set_playing(False)

    def toggle_play(self) -> None:
        if self._playing:
            self.pause()
        else:
            self.play()

    def advance(self) -> None:
        """One tick of the playback clock: the next frame; playback stops on the last one."""
        if not self._playing or self._cursor is None:
            return
        if self._cursor < self._count - 1:
            self._move(self._cursor + 1)
        if self._cursor == self._count - 1:
            self._set_playing(False)

    # ------------------------------------------------------------------ internals
    def _set_count(self, frame_count: int) -> None:
        count = operator.index(frame_count)
        if count < 0:
            raise ValueError(f"a video has zero or more frames, not {count}")
        self._count = count
        self._cursor = 0 if count else None

    def _move(self, frame: int) -> None:
        if frame != self._cursor:
            self._cursor = frame
            self.events.cursor_changed.emit(frame)

    def _set_playing(self, playing: bool) -> None:
        if playing != self._playing:
            self._playing = playing
            self.events.playing_changed.emit(playing)


def _contains(frames: tuple[int, ...], frame: int) -> bool:
    i = bisect_left(frames, frame)
    return i < len(frames) and frames[i] == frame
