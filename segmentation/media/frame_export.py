"""A video frame written as a PNG that carries its identity, so a training image never loses which frame it is.

The identity (video name, SHA-256, frame number, pts and time base) is in the file name (name and number)
and, whole, in a PNG text chunk: it travels with the file when it is copied or renamed. COCO records of
video frames carry the same fields (`frame_record_fields`, documented in docs/video.md).
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from protolabel.segmentation.files import atomic_write_bytes
from protolabel.segmentation.input_files import read_input_bytes
from protolabel.segmentation.media.errors import VideoError
from protolabel.segmentation.media.frame_index import FrameIndex

PNG_KEYWORD = b"protolabel-frame"  # the tEXt chunk's keyword (Latin-1, at most 79 bytes)
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_MAX_FRAME_PNG_BYTES = 1 << 30


def frame_file_name(video_name: str, index: int) -> str:
    """The file name of an exported frame: the video's name without extension, then the frame number."""
    return f"{Path(video_name).stem}_{index:06d}.png"


def frame_record_fields(video_name: str, frame_index: FrameIndex, index: int) -> dict[str, Any]:
    """The identity of frame `index` as the fields a COCO image record and the PNG text chunk carry."""
    return {
        "video_file": video_name,
        "video_sha256": frame_index.sha256,
        "frame_index": index,
        "frame_pts": frame_index.pts[index],
        "frame_time_base": list(frame_index.time_base),
        "frame_time": round(frame_index.seconds(index), 6),
    }


def write_frame_png(
    image: np.ndarray, folder: str | os.PathLike, video_name: str, frame_index: FrameIndex, index: int
) -> Path:
    """Write BGR frame `index` of the video as FOLDER/<video stem>_<index>.png (atomically), identity inside."""
    ok, encoded = cv2.imencode(".png", image)
    if not ok:
        raise VideoError(f"{video_name}: frame {index} could not be encoded as PNG")
    fields = frame_record_fields(video_name, frame_index, index)
    path = Path(folder) / frame_file_name(video_name, index)
    atomic_write_bytes(path, _with_text_chunk(encoded.tobytes(), json.dumps(fields, sort_keys=True)))
    return path


def read_frame_identity(path: str | os.PathLike) -> dict[str, Any] | None:
    """The identity fields a PNG written by write_frame_png carries, or None when it carries none."""
    data = read_input_bytes(path, _MAX_FRAME_PNG_BYTES, what="frame image")
    if not data.startswith(_PNG_SIGNATURE):
        return None
    at = len(_PNG_SIGNATURE)
    while at + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[at : at + 8])
        body = data[at + 8 : at + 8 + length]
        if kind == b"tEXt" and body.startswith(PNG_KEYWORD + b"\x00"):
            try:
                fields = json.loads(body[len(PNG_KEYWORD) + 1 :].decode("latin-1"))
            except ValueError:
                return None
            return fields if isinstance(fields, dict) else None
        if kind == b"IDAT":
            return None  # text chunks that matter are written before the image data
        at += 12 + length
    return None


def _with_text_chunk(png: bytes, text: str) -> bytes:
    """The PNG with a tEXt chunk (keyword PNG_KEYWORD) right after its IHDR chunk."""
    body = PNG_KEYWORD + b"\x00" + text.encode("latin-1")
    chunk = struct.pack(">I", len(body)) + b"tEXt" + body + struct.pack(">I", zlib.crc32(b"tEXt" + body))
    ihdr_end = len(_PNG_SIGNATURE) + 8 + 13 + 4  # IHDR is always first and 13 bytes long
    return png[:ihdr_end] + chunk + png[ihdr_end:]
