"""An exported frame is a normal PNG whose name and text chunk say which frame of which file it is."""

from __future__ import annotations

import hashlib

import cv2
import numpy as np
from PIL import Image

from protolabel.segmentation.media.frame_export import read_frame_identity, write_frame_png
from protolabel.segmentation.media.reader import VideoReader
from tests.segmentation.media.videos import make_video, read_stamp


def test_an_exported_frame_carries_its_identity(tmp_path):
    video = tmp_path / "clip ü.mp4"
    make_video(video, 15)
    out = tmp_path / "frames"
    out.mkdir()
    with VideoReader(video) as reader:
        image = reader.read(12)
        path = write_frame_png(image, out, video.name, reader.index, 12)
        pts = reader.index.pts[12]
    assert path == out / "clip ü_000012.png"
    decoded = cv2.imread(str(path))
    assert np.array_equal(decoded, image) and read_stamp(decoded) == 12
    identity = read_frame_identity(path)
    assert identity is not None
    assert identity["video_sha256"] == hashlib.sha256(video.read_bytes()).hexdigest()
    assert (identity["video_file"], identity["frame_index"], identity["frame_pts"]) == (video.name, 12, pts)
    # an independent PNG reader sees the text chunk too
    assert "protolabel-frame" in Image.open(path).info


def test_a_png_without_identity(tmp_path):
    plain = tmp_path / "plain.png"
    cv2.imwrite(str(plain), np.zeros((4, 4, 3), np.uint8))
    assert read_frame_identity(plain) is None
    (tmp_path / "text.png").write_bytes(b"not a png")
    assert read_frame_identity(tmp_path / "text.png") is None
