"""Small test videos made with PyAV from a scikit-image photo: a crop that moves by a known step per frame,
each frame stamped with its number as a row of black and white blocks, so a decoded frame says which it is."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from skimage import data

WIDTH, HEIGHT = 96, 64
STAMP_BITS = 8  # frame numbers 0..255
_BLOCK_W, _BLOCK_H = WIDTH // STAMP_BITS, 8


def stamped_frames(count: int) -> list[np.ndarray]:
    """`count` BGR frames of HEIGHT x WIDTH: the astronaut photo seen through a window moving 2 px right and
    1 px down per frame, the frame number in the top blocks."""
    photo = data.astronaut()[::2, ::2, ::-1]  # 256 x 256 BGR
    frames = []
    for i in range(count):
        y, x = 20 + i % 120, 10 + (2 * i) % 140
        frame = np.ascontiguousarray(photo[y : y + HEIGHT, x : x + WIDTH])
        for bit in range(STAMP_BITS):
            frame[:_BLOCK_H, bit * _BLOCK_W : (bit + 1) * _BLOCK_W] = 255 if (i >> bit) & 1 else 0
        frames.append(frame)
    return frames


def read_stamp(image: np.ndarray) -> int:
    """The frame number stamped into a decoded BGR frame (in the orientation it was made in)."""
    number = 0
    for bit in range(STAMP_BITS):
        block = image[2 : _BLOCK_H - 2, bit * _BLOCK_W + 2 : (bit + 1) * _BLOCK_W - 2]
        number |= int(block.mean() > 127) << bit
    return number


def make_video(
    path: Path,
    count: int = 40,
    *,
    durations_ms: list[int] | None = None,
    rotation: int = 0,
    gop: int = 10,
    container_format: str | None = None,
    codec: str = "libx264",
    bframes: int = 2,
) -> tuple[list[np.ndarray], list[float]]:
    """Write `count` stamped frames to `path`; the frames and their presentation times in seconds.

    Constant 30 frames/s, or one duration per frame cycled from `durations_ms` (variable frame rate);
    `rotation`: degrees counterclockwise written as display-matrix side data; a keyframe every `gop` frames
    (`bframes` B-frames in a row between, so decode order differs from presentation order)."""
    frames = stamped_frames(count)
    time_base = Fraction(1, 90000) if container_format == "mpegts" or path.suffix == ".ts" else Fraction(1, 1000)
    ticks_per_ms = time_base.denominator // 1000
    container = av.open(str(path), mode="w", format=container_format)
    stream = container.add_stream(codec, rate=30, options={"g": str(gop), "crf": "10", "bf": str(bframes)})
    stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    stream.codec_context.time_base = time_base
    if rotation:
        stream.set_display_rotation(rotation)
    times, pts = [], 0
    for i, image in enumerate(frames):
        frame = av.VideoFrame.from_ndarray(image, format="bgr24")
        frame.pts, frame.time_base = pts, time_base
        times.append(float(pts * time_base))
        step_ms = durations_ms[i % len(durations_ms)] if durations_ms else None
        pts += step_ms * ticks_per_ms if step_ms else round(time_base.denominator / 30)
        container.mux(stream.encode(frame))
    container.mux(stream.encode())
    container.close()
    return frames, times
