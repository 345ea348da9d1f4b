"""Thumbnails of a project's video frames: the right frame, small, one reader per video that decodes on in
frame order, and a video that changed or went away refused once and then without touching the file again."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest

from protolabel.segmentation.media.errors import VideoChangedError, VideoError
from protolabel.segmentation.media.reader import VideoReader
from protolabel.segmentation.project.frame_thumbnails import FrameThumbnails, small_rgb
from protolabel.segmentation.project.video_index import open_project_video
from tests.segmentation.media.videos import WIDTH, make_video, read_stamp

FRAMES = 30


@pytest.fixture
def listed(tmp_path):
    """A project folder with clip.mp4 indexed (its index kept), as the app leaves it once the video is listed."""
    make_video(tmp_path / "clip.mp4", FRAMES, gop=10)
    open_project_video(tmp_path, "clip.mp4").close()
    return tmp_path


@pytest.fixture
def opens(monkeypatch):
    """The paths VideoReaders were opened on."""
    calls = []
    real = VideoReader.__init__

    def recorded(self, path, **kwargs):
        calls.append(path)
        real(self, path, **kwargs)

    monkeypatch.setattr(VideoReader, "__init__", recorded)
    return calls


def as_bgr(rgb: np.ndarray) -> np.ndarray:
    return rgb[:, :, ::-1]


def test_a_thumbnail_is_its_frame_small_and_in_rgb(listed):
    thumbs = FrameThumbnails(listed, WIDTH)  # full width: the stamp stays readable
    try:
        for index in (0, 7, 29, 3):
            assert read_stamp(as_bgr(thumbs.thumbnail("clip.mp4", index))) == index
        small = FrameThumbnails(listed, 40).thumbnail("clip.mp4", 12)
        assert small.shape == (27, 40, 3) and small.dtype == np.uint8  # 96 x 64 kept in proportion
    finally:
        thumbs.close()


def test_small_rgb_swaps_channels_and_averages(tmp_path):
    image = np.zeros((20, 40, 3), np.uint8)
    image[:, :, 0] = 200  # blue in BGR
    image[:10, :, 2] = 100  # red, top half only
    small = small_rgb(image, 4)
    assert small.shape == (2, 4, 3)
    assert small[:, :, 2].min() == 200 and small[0, :, 0].min() == 100 and small[1, :, 0].max() == 0
    with pytest.raises(ValueError, match="at least 1 pixel"):
        small_rgb(image, 0)


def test_frames_in_order_come_from_one_reader_and_one_seek(listed, opens):
    thumbs = FrameThumbnails(listed, 40)
    try:
        for index in range(10, 20):
            thumbs.thumbnail("clip.mp4", index)
        assert len(opens) == 1 and thumbs.open_videos() == ["clip.mp4"]
        assert thumbs._readers["clip.mp4"].seeks == 1  # decoded on from the cursor after the first
    finally:
        thumbs.close()
    assert thumbs.open_videos() == []
    with pytest.raises(VideoError, match="closed"):
        thumbs.thumbnail("clip.mp4", 0)


def test_a_removed_video_is_refused_once_then_without_reading(listed, opens):
    thumbs = FrameThumbnails(listed, 40)
    thumbs.thumbnail("clip.mp4", 0)
    (listed / "clip.mp4").unlink()
    with pytest.raises(VideoChangedError, match="removed") as first:
        thumbs.thumbnail("clip.mp4", 5)
    assert thumbs.open_videos() == []  # its reader closed
    with pytest.raises(VideoChangedError) as again:
        thumbs.thumbnail("clip.mp4", 6)
    assert str(again.value) == str(first.value) and len(opens) == 1  # not opened again


def test_a_video_removed_before_its_first_thumbnail_says_so(listed, opens):
    (listed / "clip.mp4").unlink()
    thumbs = FrameThumbnails(listed, 40)
    with pytest.raises(VideoChangedError, match="clip.mp4: the file was removed after it was listed"):
        thumbs.thumbnail("clip.mp4", 0)
    assert opens == []


def test_a_video_changed_since_it_was_listed_is_refused_not_shown_under_old_numbers(listed, opens):
    make_video(listed / "clip.mp4", FRAMES + 5, gop=5)  # another video under the same name
    thumbs = FrameThumbnails(listed, 40)
    with pytest.raises(VideoChangedError, match="changed after it was listed; open the folder again"):
        thumbs.thumbnail("clip.mp4", 0)
    assert opens == []


def test_a_frame_outside_the_video_and_a_damaged_file_are_errors_not_crashes(listed):
    thumbs = FrameThumbnails(listed, 40)
    with pytest.raises(IndexError):
        thumbs.thumbnail("clip.mp4", FRAMES)
    assert thumbs.thumbnail("clip.mp4", 1).shape[1] == 40  # the video still reads
    (listed / "junk.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 not really")
    with pytest.raises(VideoError, match="junk.mp4"):
        thumbs.thumbnail("junk.mp4", 0)
    os.symlink(listed / "clip.mp4", listed / "link.mp4")
    with pytest.raises(VideoError, match="link.mp4"):  # a link is never followed
        thumbs.thumbnail("link.mp4", 0)
    thumbs.close()


def test_thumbnails_of_a_rotated_video_are_turned(tmp_path):
    frames, _ = make_video(tmp_path / "turned.mp4", 4, rotation=90)
    open_project_video(tmp_path, "turned.mp4").close()
    thumbs = FrameThumbnails(tmp_path, WIDTH)
    try:
        small = thumbs.thumbnail("turned.mp4", 2)
    finally:
        thumbs.close()
    assert small.shape[:2] == (WIDTH, round(64 * WIDTH / 96))  # portrait: the rotation is honoured
    upright = np.ascontiguousarray(np.rot90(as_bgr(small), -1))
    assert read_stamp(cv2.resize(upright, (96, 64))) == 2


def test_only_the_videos_used_last_keep_a_reader_open(listed, opens):
    make_video(listed / "other.mp4", 6)
    open_project_video(listed, "other.mp4").close()
    opens.clear()
    thumbs = FrameThumbnails(listed, 40, max_open=1)
    try:
        thumbs.thumbnail("clip.mp4", 0)
        thumbs.thumbnail("clip.mp4", 1)
        thumbs.thumbnail("other.mp4", 0)
        assert thumbs.open_videos() == ["other.mp4"]  # clip.mp4's reader closed for it
        thumbs.thumbnail("clip.mp4", 2)  # opened again: a closed reader is no refusal
        assert thumbs.open_videos() == ["clip.mp4"] and len(opens) == 3
    finally:
        thumbs.close()
    with pytest.raises(ValueError, match="max_open"):
        FrameThumbnails(listed, 40, max_open=0)


@pytest.mark.parametrize("video", ["../clip.mp4", "/etc/clip.mp4", "a//clip.mp4", "./clip.mp4", "a\\clip.mp4"])
def test_a_video_path_that_leaves_the_folder_is_not_read(listed, opens, video):
    outside = listed / "inner"
    outside.mkdir()
    thumbs = FrameThumbnails(outside, 40)  # "../clip.mp4" from here names a real video
    with pytest.raises(VideoError, match="not a '/'-separated path inside"):
        thumbs.thumbnail(video, 0)
    assert opens == []
