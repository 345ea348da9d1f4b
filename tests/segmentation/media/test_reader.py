"""Frame-exact reading: every frame of every kind of test video, in random order, is the frame its number says."""

from __future__ import annotations

import random
import threading

import numpy as np
import pytest

from protolabel.segmentation.media.frame_index import FrameIndex
from protolabel.segmentation.media.reader import VideoReader, is_video_name
from tests.segmentation.media.videos import make_video, read_stamp

VFR_MS = [10, 50, 33, 17]  # one duration per frame, cycled: no frame rate describes these times

KINDS = {
    "cfr.mp4": {},
    "vfr.mp4": {"durations_ms": VFR_MS},
    "vfr.mkv": {"durations_ms": VFR_MS},
    "cfr.ts": {},
    "vfr.ts": {"durations_ms": VFR_MS},
    "mpeg4.avi": {"codec": "mpeg4", "bframes": 0},
    "rotated.mp4": {"rotation": 90},
}


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    """Each kind of video: (path, source frames, presentation times in seconds)."""
    folder = tmp_path_factory.mktemp("videos")
    return {name: (folder / name, *make_video(folder / name, 40, **kw)) for name, kw in KINDS.items()}


def _unrotated(image: np.ndarray, rotation: int) -> np.ndarray:
    return np.rot90(image, -rotation // 90)


@pytest.mark.parametrize("name", KINDS)
def test_every_random_seek_returns_the_frame_with_its_number(videos, name):
    path, frames, _ = videos[name]
    with VideoReader(path) as reader:
        assert len(reader) == len(frames)
        order = list(range(len(frames)))
        random.Random(name).shuffle(order)
        read = {i: read_stamp(_unrotated(reader.read(i), KINDS[name].get("rotation", 0))) for i in order}
    assert read == {i: i for i in order}


@pytest.mark.parametrize("name", KINDS)
def test_frame_times_are_the_written_ones(videos, name):
    path, _, times = videos[name]
    with VideoReader(path) as reader:
        seconds = [reader.index.seconds(i) for i in range(len(reader))]
    # MPEG-TS starts its clock after a muxing delay: the times from the first frame on are what was written
    assert np.allclose(np.subtract(seconds, seconds[0]), np.subtract(times, times[0]), atol=1e-4)


def test_keyframes_are_where_the_encoder_put_them(videos):
    path, _, _ = videos["cfr.mp4"]
    with VideoReader(path) as reader:
        assert [i for i, k in enumerate(reader.index.keyframes) if k] == [0, 10, 20, 30]  # gop 10


def test_a_rotated_video_is_returned_the_way_it_is_shown(videos):
    path, frames, _ = videos["rotated.mp4"]
    with VideoReader(path) as reader:
        image = reader.read(5).astype(np.int16)
        assert reader.index.rotation == 90
        assert reader.index.display_size == (64, 96)
    # FFmpeg's display matrix angle is counterclockwise: a player shows the coded frame turned a quarter left
    expected = np.rot90(frames[5], 1).astype(np.int16)
    assert image.shape == expected.shape == (96, 64, 3)
    assert np.abs(image - expected).mean() < 6
    assert np.abs(image - np.rot90(frames[5], -1).astype(np.int16)).mean() > 30


def test_random_and_sequential_reads_give_the_same_pixels(videos):
    path, _, _ = videos["vfr.mp4"]
    with VideoReader(path, cache_frames=1) as reader:
        sequential = [reader.read(i) for i in range(len(reader))]
    with VideoReader(path, cache_frames=1) as reader:
        for i in random.Random(1).sample(range(len(sequential)), 12):
            assert np.array_equal(reader.read(i), sequential[i])


def test_the_cache_stays_small_whatever_is_read(videos):
    path, _, _ = videos["cfr.mp4"]
    with VideoReader(path, cache_frames=4) as reader:
        for i in [*range(len(reader)), *range(len(reader) - 1, -1, -3)]:
            reader.read(i)
            assert len(reader._cache) <= 4


def test_the_cache_is_bounded_in_bytes_too(videos, monkeypatch):
    from protolabel.segmentation.media import reader as reader_module

    monkeypatch.setattr(reader_module, "CACHE_BYTES", 3 * 96 * 64 * 3 // 2)  # three 96x64 frames in 4:2:0
    path, _, _ = videos["cfr.mp4"]
    with VideoReader(path) as reader:
        for i in range(len(reader)):
            assert read_stamp(reader.read(i)) == i
            assert len(reader._cache) <= 3


def test_two_threads_share_one_reader(videos):
    path, _, _ = videos["vfr.mkv"]
    wrong: list[tuple[int, int]] = []
    with VideoReader(path) as reader:

        def read_some(seed: int) -> None:
            for i in random.Random(seed).choices(range(len(reader)), k=30):
                got = read_stamp(reader.read(i))
                if got != i:
                    wrong.append((i, got))

        threads = [threading.Thread(target=read_some, args=(seed,)) for seed in (1, 2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert wrong == []


def test_frame_identity_names_the_file_bytes(videos):
    import hashlib

    path, _, _ = videos["cfr.ts"]
    with VideoReader(path) as reader:
        frame = reader.frame_id(7)
        assert frame.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        assert (frame.index, frame.pts) == (7, reader.index.pts[7])
        with pytest.raises(IndexError):
            reader.frame_id(len(reader))
        with pytest.raises(IndexError):
            reader.read(-1)


def test_a_stored_index_is_reused_while_the_file_is_unchanged(videos, monkeypatch):
    path, _, _ = videos["cfr.mp4"]
    with VideoReader(path) as reader:
        stored = FrameIndex.from_dict(reader.index.to_dict())
    assert stored == reader.index
    monkeypatch.setattr(VideoReader, "_hash", lambda self: pytest.fail("the file was hashed again"))
    with VideoReader(path, index=stored) as again:
        assert again.index is stored
        assert read_stamp(again.read(23)) == 23


def test_a_stale_index_is_built_again(videos, tmp_path):
    path, _, _ = videos["cfr.mp4"]
    with VideoReader(path) as reader:
        stale = reader.index
    copy = tmp_path / "copy.mp4"
    make_video(copy, 20)
    with VideoReader(copy, index=stale) as reader:
        assert len(reader) == 20
        assert reader.sha256 != stale.sha256


def test_video_names():
    assert is_video_name("a/clip.MP4") and is_video_name("x.ts") and is_video_name("b.webm")
    assert not is_video_name("frame_0001.png") and not is_video_name("notes.txt")


def test_closing_while_a_worker_reads_ends_its_reads_cleanly(videos):
    from protolabel.segmentation.media.errors import VideoError

    path, _, _ = videos["cfr.mp4"]
    reader = VideoReader(path, cache_frames=1)
    outcome: list[str] = []
    started = threading.Event()

    def worker() -> None:
        try:
            for i in range(10_000):
                reader.read((i * 7) % len(reader))
                started.set()
            outcome.append("finished")
        except VideoError as exc:
            outcome.append(str(exc))

    thread = threading.Thread(target=worker)
    thread.start()
    started.wait(10)
    reader.close()
    thread.join(30)
    assert outcome == [f"{path}: the video was closed"]


def test_frames_that_share_a_timestamp_are_said(tmp_path):
    path = tmp_path / "bframes.avi"
    make_video(path, 20, codec="mpeg4")  # AVI stores no pts: with B-frames two packets get the same one
    with VideoReader(path) as reader:
        assert len(reader) < 20
        assert reader.note is not None and "a timestamp with another frame" in reader.note
        assert [read_stamp(reader.read(i)) for i in range(len(reader))] == list(range(len(reader)))


LONG_GOP = 48  # one keyframe for the whole clip: a seek near its end passes many non-reference B-frames


@pytest.fixture(scope="module")
def long_gop_videos(tmp_path_factory):
    """Each kind of video with a single keyframe, so seeks decode long runs where frames may be skipped."""
    folder = tmp_path_factory.mktemp("long_gop")
    return {
        name: (folder / name, *make_video(folder / name, 48, **{**kw, "gop": LONG_GOP})) for name, kw in KINDS.items()
    }


@pytest.mark.parametrize("name", KINDS)
def test_seeks_that_skip_non_reference_frames_still_return_the_right_frame(long_gop_videos, name):
    path, frames, _ = long_gop_videos[name]
    with VideoReader(path, cache_frames=1) as reader:
        order = list(range(len(frames)))
        random.Random(name).shuffle(order)
        read = {i: read_stamp(_unrotated(reader.read(i), KINDS[name].get("rotation", 0))) for i in order}
    assert read == {i: i for i in order}


@pytest.mark.parametrize("name", ["cfr.mp4", "vfr.ts"])
def test_skipped_frames_change_no_pixel(long_gop_videos, name):
    path, frames, _ = long_gop_videos[name]
    with VideoReader(path, cache_frames=1, seek_shortcuts=False) as reader:
        every = [reader.read(i) for i in range(len(frames))]
    with VideoReader(path, cache_frames=1) as reader:
        for i in random.Random(2).sample(range(len(frames)), 16):
            assert np.array_equal(reader.read(i), every[i]), i


def test_a_seek_far_past_the_keyframe_decodes_only_the_frames_it_needs(long_gop_videos):
    path, frames, _ = long_gop_videos["cfr.mp4"]
    target = len(frames) - 3
    decoded = {}
    for shortcuts in (False, True):
        with VideoReader(path, cache_frames=1, seek_shortcuts=shortcuts) as reader:
            reader.read(len(frames) - 1)  # the decoder ends up past the target: the next read seeks
            before = reader.frames_decoded
            assert read_stamp(reader.read(target)) == target
            decoded[shortcuts] = reader.frames_decoded - before
    # every frame from the keyframe (0) on, against those some later frame refers to and the few kept for
    # stepping back: with 2 B-frames in a row, x264's B-pyramid makes one of the two a reference, so about a
    # third of the 37 frames before those few need not be decoded
    assert decoded[False] >= target + 1
    assert decoded[True] <= decoded[False] - 8


def test_reading_frames_in_order_never_seeks_again(long_gop_videos):
    path, frames, _ = long_gop_videos["vfr.mp4"]
    with VideoReader(path, cache_frames=2) as reader:
        opened = reader.seeks
        stamps = [read_stamp(reader.read(i)) for i in range(len(frames))]
        assert reader.seeks == opened
        reader.read(5)  # behind the cursor and out of the cache: that takes a seek
        assert reader.seeks == opened + 1
        assert read_stamp(reader.read(4)) == 4  # kept while decoding to 5
        assert reader.seeks == opened + 1
    assert stamps == list(range(len(frames)))


def test_stepping_back_from_a_jump_seeks_once_per_cacheful(long_gop_videos):
    path, frames, _ = long_gop_videos["cfr.mp4"]
    with VideoReader(path, cache_frames=16) as reader:
        last = len(frames) - 1
        reader.read(last)  # a jump: a few frames before it are kept
        jumped = reader.seeks
        stamps = [read_stamp(reader.read(i)) for i in range(last - 1, -1, -1)]
        # each step back that misses the cache fills it with the 16 frames before: 47 steps, 3 seeks at most
        assert reader.seeks - jumped <= -(-(last - 8) // 16)
    assert stamps == list(range(last - 1, -1, -1))


@pytest.mark.parametrize("name", ["vfr.mp4", "cfr.ts", "vfr.mkv"])
def test_many_decoder_threads_keep_every_seek_exact(long_gop_videos, name):
    # frame threads hold several frames in flight: skipping and pts matching must not depend on how many
    path, frames, _ = long_gop_videos[name]
    with VideoReader(path, cache_frames=1, decoder_threads=8) as reader:
        assert reader._stream.codec_context.thread_count == 8
        order = list(range(len(frames)))
        random.Random(name).shuffle(order)
        assert {i: read_stamp(reader.read(i)) for i in order} == {i: i for i in order}
