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
