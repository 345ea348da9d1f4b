"""Bad video input: each refused with its own error and a message naming the file and the reason."""

from __future__ import annotations

import os
import time

import av
import numpy as np
import pytest

from protolabel.segmentation.images import ImageReadError
from protolabel.segmentation.media.errors import (
    EmptyVideoError,
    FrameDecodeError,
    NotAVideoError,
    UnsupportedCodecError,
    VideoChangedError,
    VideoTooLargeError,
)
from protolabel.segmentation.media.reader import VideoReader
from tests.segmentation.media.videos import make_video, read_stamp


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("clip") / "clip.mkv"
    make_video(path, 30)
    return path


def _audio_packets(container, stream) -> None:
    for i in range(4):
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 8000, i * 1024
        container.mux(stream.encode(frame))
    container.mux(stream.encode())


def _refused(path, error, *words, **options):
    with pytest.raises(error) as caught:
        VideoReader(path, **options)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    for word in words:
        assert word in message
    return message


def test_a_video_error_is_an_unreadable_image_to_every_caller(tmp_path):
    (tmp_path / "junk.mp4").write_bytes(b"\x00\x01 not a video " * 200)
    with pytest.raises(ImageReadError):
        VideoReader(tmp_path / "junk.mp4")


def test_corrupt_and_empty_files(tmp_path):
    (tmp_path / "junk.mp4").write_bytes(b"\x00\x01 not a video " * 200)
    _refused(tmp_path / "junk.mp4", NotAVideoError, "corrupt or cut off", "Invalid data")
    (tmp_path / "empty.mp4").write_bytes(b"")
    _refused(tmp_path / "empty.mp4", NotAVideoError, "the file is empty")


def test_an_mp4_cut_off_before_its_index(tmp_path):
    whole = tmp_path / "whole.mp4"
    make_video(whole, 20)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])  # the moov index is written last
    _refused(cut, NotAVideoError, "corrupt or cut off")


def test_a_cut_off_stream_keeps_the_frames_it_has(clip, tmp_path):
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(clip.read_bytes()[: clip.stat().st_size * 2 // 3])
    with VideoReader(cut) as reader:
        assert 0 < len(reader) < 30
        assert read_stamp(reader.read(3)) == 3
        last = len(reader) - 1
        try:
            assert read_stamp(reader.read(last)) == last
        except FrameDecodeError as exc:  # its packet was cut through: said, and the others still read
            assert f"frame {last} (at " in str(exc) and "damaged or cut off" in str(exc)
        assert read_stamp(reader.read(1)) == 1


def test_no_video_stream(tmp_path):
    path = tmp_path / "sound.mp4"
    with av.open(str(path), "w") as container:
        _audio_packets(container, container.add_stream("aac", rate=8000))
    _refused(path, NotAVideoError, "no video stream", "audio")


def test_a_video_stream_without_frames(tmp_path):
    path = tmp_path / "silent.mkv"
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=30)
        video.width, video.height, video.pix_fmt = 96, 64, "yuv420p"
        _audio_packets(container, container.add_stream("aac", rate=8000))
    _refused(path, EmptyVideoError, "holds no frames")


def test_a_codec_ffmpeg_cannot_decode(clip, tmp_path):
    data = clip.read_bytes()
    assert data.count(b"V_MPEG4/ISO/AVC") == 1
    path = tmp_path / "odd.mkv"
    path.write_bytes(data.replace(b"V_MPEG4/ISO/AVC", b"V_MPEG4/ISO/ZZZ"))  # a codec id nobody knows
    _refused(path, UnsupportedCodecError, "cannot decode", "convert it")


def test_frames_larger_than_the_image_limit(clip):
    _refused(clip, VideoTooLargeError, "96x64 pixels", "more than the 0.006 MP", max_pixels=6000)


def test_a_file_replaced_while_open(clip, tmp_path):
    path = tmp_path / "v.mkv"
    path.write_bytes(clip.read_bytes())
    with VideoReader(path) as reader:
        reader.read(2)
        other = tmp_path / "other.mkv"
        make_video(other, 12)
        os.replace(other, path)
        with pytest.raises(VideoChangedError, match="replaced by another one"):
            reader.read(3)


def test_a_file_changed_in_place_while_open(clip, tmp_path):
    path = tmp_path / "v.mkv"
    path.write_bytes(clip.read_bytes())
    with VideoReader(path) as reader:
        with open(path, "r+b") as handle:
            handle.truncate(path.stat().st_size // 2)
        with pytest.raises(VideoChangedError, match="changed after it was opened"):
            reader.read(5)


def test_a_file_rewritten_with_the_same_size_while_open(clip, tmp_path):
    path = tmp_path / "v.mkv"
    path.write_bytes(clip.read_bytes())
    with VideoReader(path) as reader:
        time.sleep(0.01)
        with open(path, "r+b") as handle:
            handle.write(b"\x00")
        with pytest.raises(VideoChangedError, match="changed after it was opened"):
            reader.read(5)


def test_a_file_removed_while_open(clip, tmp_path):
    path = tmp_path / "v.mkv"
    path.write_bytes(clip.read_bytes())
    with VideoReader(path) as reader:
        path.unlink()
        with pytest.raises(VideoChangedError, match="removed after it was opened"):
            reader.read(0)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "live.mp4"
    os.mkfifo(fifo)
    _refused(fifo, NotAVideoError, "named pipe (FIFO)")


def test_a_device_and_a_folder_are_refused(tmp_path):
    if os.path.exists("/dev/zero"):
        _refused("/dev/zero", NotAVideoError, "character device")
    (tmp_path / "clip.mp4").mkdir()
    _refused(tmp_path / "clip.mp4", NotAVideoError)


def test_a_link_is_followed_only_when_asked(clip, tmp_path):
    link = tmp_path / "link.mkv"
    link.symlink_to(clip)
    _refused(link, NotAVideoError, "symbolic link")
    with VideoReader(link, follow_links=True) as reader:
        assert read_stamp(reader.read(4)) == 4


def test_a_closed_reader_says_so(clip):
    reader = VideoReader(clip)
    reader.close()
    with pytest.raises(ImageReadError, match="closed"):
        reader.read(0)


def test_damaged_packets_in_mpeg_ts_are_said_and_the_rest_reads(tmp_path):
    whole = tmp_path / "whole.ts"
    make_video(whole, 30)
    data = bytearray(whole.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 400] = b"\xff" * 400  # breaks the 188-byte packets' sync there
    damaged = tmp_path / "damaged.ts"
    damaged.write_bytes(bytes(data))
    with VideoReader(damaged) as reader:
        assert reader.note is not None
        assert reader.note.startswith(f"{damaged}: 1 damaged packet (at ") and "may show errors" in reader.note
        assert read_stamp(reader.read(2)) == 2  # before the damage: untouched
    with VideoReader(whole) as reader:
        assert reader.note is None
