"""A video's frame index (presentation time and keyframe flag per frame) and a frame's identity.

Frame numbers are positions in presentation-time order of the packets the demuxer yields, so they do not
depend on a frame rate (variable-frame-rate files, MPEG-TS) and are the same on every machine that reads the
same bytes. The index is built from packets alone (no decoding) and is plain data, so the project store can
keep it and skip the pass next time.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any


@dataclass(frozen=True)
class FrameId:
    """Which frame of which file: the identity a label or an exported frame carries, so indices never drift.

    sha256: hex SHA-256 of the whole video file; index: frame number from 0 in presentation order;
    pts: presentation timestamp in units of the stream's time base (`FrameIndex.time_base`)."""

    sha256: str
    index: int
    pts: int

    def as_dict(self) -> dict[str, Any]:
        """The identity as JSON fields."""
        return {"sha256": self.sha256, "index": self.index, "pts": self.pts}


@dataclass(frozen=True)
class FrameIndex:
    """Every frame of one video stream: pts (stream time-base units, ascending) and whether it is a keyframe.

    sha256, size and mtime_ns describe the file the index was built from: an index whose file no longer
    matches them describes other bytes and must be built again."""

    sha256: str
    size: int  # bytes
    mtime_ns: int
    stream_index: int  # of the video stream in the container
    time_base: tuple[int, int]  # (numerator, denominator): seconds per pts unit
    width: int  # coded frame size in pixels, before rotation
    height: int
    rotation: int  # degrees counterclockwise the frames are turned to be shown (0, 90, 180 or 270)
    pts: tuple[int, ...]
    keyframes: tuple[bool, ...]
    # decode timestamp of each keyframe, in keyframe order (None where the container stores none): MPEG-TS
    # seeks by it, MP4 by pts, so a seek tries both
    keyframe_dts: tuple[int | None, ...] = ()
    _position: dict[int, int] = field(init=False, repr=False, compare=False)
    _keyframe_positions: list[int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.pts) != len(self.keyframes):
            raise ValueError(f"{len(self.pts)} timestamps but {len(self.keyframes)} keyframe flags")
        if any(a >= b for a, b in zip(self.pts, self.pts[1:])):
            raise ValueError("frame timestamps must be strictly increasing")
        object.__setattr__(self, "_position", {p: i for i, p in enumerate(self.pts)})
        object.__setattr__(self, "_keyframe_positions", [i for i, k in enumerate(self.keyframes) if k])
        if self.keyframe_dts and len(self.keyframe_dts) != len(self._keyframe_positions):
            raise ValueError(
                f"{len(self._keyframe_positions)} keyframes but {len(self.keyframe_dts)} decode timestamps"
            )

    def __len__(self) -> int:
        return len(self.pts)

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) of a frame as shown, rotation applied."""
        return (self.height, self.width) if self.rotation in (90, 270) else (self.width, self.height)

    @property
    def average_rate(self) -> Fraction | None:
        """Frames per second over the whole video (None for a single frame, or frames all at one time)."""
        if len(self.pts) < 2:
            return None
        span = Fraction(self.pts[-1] - self.pts[0]) * Fraction(*self.time_base)
        return Fraction(len(self.pts) - 1) / span if span > 0 else None

    @property
    def variable_frame_rate(self) -> bool:
        """Whether the frames are not all the same time apart."""
        return len({b - a for a, b in zip(self.pts, self.pts[1:])}) > 1

    def seconds(self, index: int) -> float:
        """Presentation time of frame `index` in seconds."""
        return float(self.pts[index] * Fraction(*self.time_base))

    def index_of_pts(self, pts: int) -> int | None:
        """The frame number whose timestamp is `pts`, or None when no frame has it."""
        return self._position.get(pts)

    def keyframe_at_or_before(self, index: int) -> int | None:
        """The number of the last keyframe at or before frame `index` (None when the stream starts without one)."""
        at = bisect.bisect_right(self._keyframe_positions, index)
        return self._keyframe_positions[at - 1] if at else None

    def next_keyframe(self, index: int) -> int | None:
        """The number of the first keyframe after frame `index`, or None."""
        at = bisect.bisect_right(self._keyframe_positions, index)
        return self._keyframe_positions[at] if at < len(self._keyframe_positions) else None

    def dts_of_keyframe(self, keyframe: int) -> int | None:
        """The decode timestamp of keyframe number `keyframe`, None when unknown (or not a keyframe)."""
        at = bisect.bisect_left(self._keyframe_positions, keyframe)
        known = at < len(self.keyframe_dts) and self._keyframe_positions[at] == keyframe
        return self.keyframe_dts[at] if known else None

    def frame_id(self, index: int) -> FrameId:
        """The identity of frame `index` (IndexError outside 0..len-1)."""
        if not 0 <= index < len(self.pts):
            raise IndexError(f"frame {index} is outside 0..{len(self.pts) - 1}")
        return FrameId(self.sha256, index, self.pts[index])

    def to_dict(self) -> dict[str, Any]:
        """The index as JSON-ready data (from_dict reads it back)."""
        return {
            "sha256": self.sha256,
            "size": self.size,
            "mtime_ns": self.mtime_ns,
            "stream_index": self.stream_index,
            "time_base": list(self.time_base),
            "width": self.width,
            "height": self.height,
            "rotation": self.rotation,
            "pts": list(self.pts),
            "keyframes": [int(k) for k in self.keyframes],
            "keyframe_dts": list(self.keyframe_dts),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FrameIndex:
        """An index from to_dict's data; ValueError/KeyError/TypeError when it is malformed."""
        num, den = (int(v) for v in data["time_base"])
        if num <= 0 or den <= 0:
            raise ValueError(f"time base must be positive, got {num}/{den}")
        return cls(
            sha256=str(data["sha256"]),
            size=int(data["size"]),
            mtime_ns=int(data["mtime_ns"]),
            stream_index=int(data["stream_index"]),
            time_base=(num, den),
            width=int(data["width"]),
            height=int(data["height"]),
            rotation=int(data["rotation"]),
            pts=tuple(int(p) for p in data["pts"]),
            keyframes=tuple(bool(k) for k in data["keyframes"]),
            keyframe_dts=tuple(None if d is None else int(d) for d in data.get("keyframe_dts", ())),
        )
