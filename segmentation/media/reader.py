"""Reading any frame of a video by its number, exactly: seek to the keyframe before it, decode forward to its pts.

A frame is found by its presentation timestamp, never by counting or by frame rate, so a seek lands on the
same frame on variable-frame-rate files and MPEG-TS as on constant ones. The file is opened once through
`input_files.open_input` (regular files only) and checked against what was opened before every read: a file
replaced, changed or removed meanwhile is refused instead of read as if its frame numbers still held.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import av
import av.error
import numpy as np

from protolabel.segmentation.errors import first_line
from protolabel.segmentation.images import MAX_PIXELS
from protolabel.segmentation.input_files import InputFileError, open_input
from protolabel.segmentation.media.errors import (
    EmptyVideoError,
    FrameDecodeError,
    NotAVideoError,
    UnsupportedCodecError,
    VideoChangedError,
    VideoError,
    VideoTooLargeError,
)
from protolabel.segmentation.media.frame_index import FrameId, FrameIndex

VIDEO_EXTENSIONS = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm", ".ts", ".mts", ".m2ts"})
DEFAULT_CACHE_FRAMES = 32  # decoded frames kept around the cursor: ~100 MB at 1080p (YUV 4:2:0), whatever the length
CACHE_BYTES = 256 << 20  # and never more than this (8-bit 4:2:0 counted): 4K keeps 21 frames, 8K 5
_FORWARD_DECODE_LIMIT = 12  # frames decoded on from the cursor rather than seeking, across a keyframe
_SEEK_TRIES = 3  # keyframes tried, each earlier than the last, when a seek lands past its target
_KEPT_BEFORE_JUMP = 8  # frames before a jump's target decoded in full and cached, for stepping back from it
# codecs whose "non-reference" frames (FFmpeg's skip_frame NONREF) no later frame can depend on, so dropping
# them on the way to a target leaves every other frame bit-exact; HEVC's sub-layer non-reference pictures
# may still be referenced by a higher temporal layer, so it is not listed
_NONREF_SKIPPABLE = frozenset({"h264"})
_HASH_CHUNK = 1 << 20


def is_video_name(name: str) -> bool:
    """True for a file name with one of the video extensions the product reads."""
    return os.path.splitext(name)[1].lower() in VIDEO_EXTENSIONS


class VideoReader:
    """The frames of one video file by number, as BGR uint8 arrays turned as the file says they are shown.

    `index` (from an earlier `reader.index`, e.g. kept by the project store) skips the hashing and demux pass
    when the file's size and modification time still match it. Up to `cache_frames` decoded frames around
    the last one read are kept, so memory does not grow with the video's length. One lock serialises reads:
    a worker thread may read while another thread asks `len()` or `frame_id()`.

    `seek_shortcuts=False` decodes and caches every frame between the keyframe and the target, as the
    reader did before it skipped H.264 non-reference frames on the way: for benchmarks/video_decode.py's
    before/after figures, and a way around a decoder that mishandles skipping. `decoder_threads`: FFmpeg's
    frame and slice threads (0: as many as it picks for the cores). `seeks` and `frames_decoded` count the
    demuxer seeks and the frames the decoder put out, for tests and benchmarks.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        index: FrameIndex | None = None,
        cache_frames: int = DEFAULT_CACHE_FRAMES,
        follow_links: bool = False,
        max_pixels: int = MAX_PIXELS,
        seek_shortcuts: bool = True,
        decoder_threads: int = 0,
    ) -> None:
        if cache_frames < 1:
            raise ValueError(f"cache_frames must be at least 1, got {cache_frames}")
        if decoder_threads < 0:
            raise ValueError(f"decoder_threads must be 0 (one per core) or more, got {decoder_threads}")
        self._decoder_threads = decoder_threads
        self.path = Path(path)
        self._follow_links = follow_links
        self._max_pixels = max_pixels
        self._cache: OrderedDict[int, av.VideoFrame] = OrderedDict()
        self._cache_frames = cache_frames
        self._lock = threading.Lock()
        self._frames: Iterator[av.VideoFrame] | None = None  # the decoder's output since the last seek
        self._skip_before = 0  # pts before which H.264 non-reference frames are dropped (the target's minus a few)
        self._last_read = -1  # number of the frame read last: a target just behind it is a step back
        self._shortcuts = seek_shortcuts
        self._skip_nonref = False  # set once the codec is known
        self.seeks = 0  # demuxer seeks so far: reading on from the cursor needs none
        self.frames_decoded = 0  # frames the decoder has put out so far (dropped non-reference ones are not)
        self._cursor = -1  # number of the last frame that came out of self._frames, -1 when none
        self._seek_by_dts = False  # whether the last seek that landed went by a keyframe's dts
        self.note: str | None = None  # what opening found wrong but could read around, for the user
        self._handle = self._open_file()
        try:
            stat = os.fstat(self._handle.fileno())
            self._opened = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)
            if stat.st_size == 0:
                raise NotAVideoError(f"{self.path}: the file is empty")
            if index is not None and (index.size, index.mtime_ns) != (stat.st_size, stat.st_mtime_ns):
                index = None  # it describes other bytes: build it again
            sha256 = index.sha256 if index is not None else self._hash()
            self._container: av.container.InputContainer | None = self._open_container()
            self._stream = self._video_stream()
            self.index = index if index is not None else self._build_index(sha256, stat.st_size, stat.st_mtime_ns)
        except BaseException:
            self.close()
            raise

    # -- opening ---------------------------------------------------------------------------------------------

    def _open_file(self) -> BinaryIO:
        try:
            return open_input(self.path, follow_links=self._follow_links)
        except InputFileError as exc:  # a FIFO, a device, a folder, or a link where none is followed
            raise NotAVideoError(f"{self.path}: {exc.strerror}") from None
        except OSError as exc:
            raise NotAVideoError(f"{self.path}: cannot open file ({exc.strerror or exc})") from None

    def _hash(self) -> str:
        digest = hashlib.sha256()
        self._handle.seek(0)
        while chunk := self._handle.read(_HASH_CHUNK):
            digest.update(chunk)
        self._handle.seek(0)
        return digest.hexdigest()

    def _open_container(self) -> av.container.InputContainer:
        try:
            # genpts: containers that store no pts on some packets (AVI) get them from dts and the frame rate
            return av.open(self._handle, mode="r", options={"fflags": "+genpts"}, metadata_errors="replace")
        except av.error.FFmpegError as exc:
            raise NotAVideoError(
                f"{self.path}: not a video, or the file is corrupt or cut off ({_ffmpeg_reason(exc)})"
            ) from None

    def _video_stream(self) -> av.video.stream.VideoStream:
        streams = self._live().streams
        if not streams.video:
            kinds: list[str] = sorted({str(s.type) for s in streams}) or ["nothing"]
            raise NotAVideoError(f"{self.path}: the file holds no video stream (only {', '.join(kinds)})")
        stream = streams.video[0]
        if stream.codec_context is None:
            raise UnsupportedCodecError(
                f"{self.path}: its video is in a codec this FFmpeg build cannot decode; convert it, e.g. "
                "`ffmpeg -i IN -c:v libx264 OUT.mp4`"
            )
        self._check_size(stream.codec_context.width, stream.codec_context.height)
        self._skip_nonref = self._shortcuts and stream.codec_context.name in _NONREF_SKIPPABLE
        # frame and slice threads: a 1080p seek decodes a whole GOP prefix. Frame threads cost about a third
        # more CPU per frame (2 loaded cores: no faster) but divide the wall time on idle cores
        stream.thread_type = "AUTO"
        stream.codec_context.thread_count = self._decoder_threads
        return stream

    def _check_size(self, width: int, height: int) -> None:
        if width * height > self._max_pixels:
            raise VideoTooLargeError(
                f"{self.path}: frames are {width}x{height} pixels, more than the "
                f"{self._max_pixels / 1e6:g} MP supported"
            )

    def _build_index(self, sha256: str, size: int, mtime_ns: int) -> FrameIndex:
        """The demux pass: every packet's pts (or dts) and keyframe flag, sorted by time; no decoding."""
        times: dict[int, tuple[bool, int | None]] = {}
        damaged: list[int] = []  # pts of packets the demuxer flagged as corrupt
        repeated = 0  # packets whose timestamp an earlier one has (AVI with B-frames): they cannot be told apart
        try:
            for packet in self._live().demux(self._stream):
                if packet.size == 0 or packet.is_discard:  # the flush packet; pre-roll an edit list drops
                    continue
                pts = packet.pts if packet.pts is not None else packet.dts
                if pts is None:
                    raise NotAVideoError(f"{self.path}: its video packets carry no timestamps, so frames have no place")
                if int(pts) in times:
                    repeated += 1
                times.setdefault(int(pts), (bool(packet.is_keyframe), packet.dts))
                if packet.is_corrupt:
                    damaged.append(int(pts))
        except av.error.FFmpegError as exc:  # damaged or cut off: the frames found so far stay readable
            self.note = (
                f"{self.path}: the file is damaged or cut off after its first {len(times)} frames "
                f"({_ffmpeg_reason(exc)}); only those are read"
            )
        if damaged and self.note is None:
            unit = self._stream.time_base or 0
            seconds = ", ".join(f"{float(p * unit):.2f} s" for p in damaged[:5]) + (", ..." * (len(damaged) > 5))
            packets = f"{len(damaged)} damaged packet{'s' * (len(damaged) != 1)}"
            self.note = (
                f"{self.path}: {packets} (at {seconds}): frames there and up to the next keyframe may show errors "
                "or be missing"
            )
        if repeated and self.note is None:
            self.note = (
                f"{self.path}: {repeated} frame{' shares' if repeated == 1 else 's share'} a timestamp with another "
                "frame, so only the first of each is read (seen in AVI files with B-frames)"
            )
        if not times:
            raise EmptyVideoError(f"{self.path}: the video stream holds no frames")
        ordered = sorted(times)
        context = self._stream.codec_context
        time_base = self._stream.time_base
        if time_base is None:
            raise NotAVideoError(f"{self.path}: its video stream has no time base")
        index = FrameIndex(
            sha256=sha256,
            size=size,
            mtime_ns=mtime_ns,
            stream_index=self._stream.index,
            time_base=(time_base.numerator, time_base.denominator),
            width=context.width,
            height=context.height,
            rotation=0,
            pts=tuple(ordered),
            keyframes=tuple(times[p][0] for p in ordered),
            keyframe_dts=tuple(times[p][1] for p in ordered if times[p][0]),
        )
        self.index = index
        first = self._decode_to(0)  # the codec works, and its frames say how they are turned
        rotation = int(round(first.rotation / 90.0)) * 90 % 360
        return dataclasses.replace(index, rotation=rotation)

    # -- reading ---------------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.index)

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the file as opened."""
        return self.index.sha256

    def frame_id(self, index: int) -> FrameId:
        """The identity of frame `index`: the file's SHA-256, the number and its pts."""
        return self.index.frame_id(index)

    def read(self, index: int) -> np.ndarray:
        """Frame `index` (0-based, presentation order) as BGR uint8 H x W x 3, rotation applied.

        IndexError outside 0..len-1; FrameDecodeError when that part of the file is damaged; VideoChangedError
        when the file is no longer the one opened."""
        if not 0 <= index < len(self.index):
            raise IndexError(f"{self.path}: frame {index} is outside 0..{len(self.index) - 1}")
        with self._lock:
            self._live()
            self.check_unchanged()
            frame = self._cache.get(index)
            if frame is None:
                frame = self._decode_to(index)
            else:
                self._cache.move_to_end(index)
            self._last_read = index
            return self._to_array(frame)

    def check_unchanged(self) -> None:
        """VideoChangedError when the path now names another file, or the open file changed or is gone."""
        try:
            now = os.stat(self.path, follow_symlinks=self._follow_links)
        except FileNotFoundError:
            raise VideoChangedError(
                f"{self.path}: the file was removed after it was opened; its labels are kept, restore the file to "
                "read its frames"
            ) from None
        except OSError as exc:
            raise VideoChangedError(f"{self.path}: cannot check the file any more ({exc.strerror or exc})") from None
        opened = os.fstat(self._handle.fileno())
        if (now.st_dev, now.st_ino) != self._opened[:2]:
            raise VideoChangedError(
                f"{self.path}: the file was replaced by another one after it was opened; open it again so its "
                "frames are numbered anew"
            )
        if (opened.st_size, opened.st_mtime_ns) != self._opened[2:]:
            raise VideoChangedError(
                f"{self.path}: the file was changed after it was opened ({self._opened[2]:,} bytes then, "
                f"{opened.st_size:,} now); open it again so its frames are numbered anew"
            )

    def _live(self) -> av.container.InputContainer:
        if self._container is None:
            raise VideoError(f"{self.path}: the video was closed")
        return self._container

    def close(self) -> None:
        """Release the decoder and the file (reads after this raise VideoError); waits for a read under way."""
        with self._lock:
            container = getattr(self, "_container", None)
            self._frames, self._container = None, None
            self._cache.clear()
            if container is not None:
                container.close()
            self._handle.close()

    # -- decoding --------------------------------------------------------------------------------------------

    def _decode_to(self, index: int) -> av.VideoFrame:
        """Frame `index` decoded: on from the cursor when it is a few frames ahead, else after a seek."""
        if self._frames is not None and self._cursor < index:
            keyframe = self.index.keyframe_at_or_before(index)
            if (keyframe is not None and keyframe <= self._cursor) or index - self._cursor <= _FORWARD_DECODE_LIMIT:
                found = self._walk(index, clean=True)
                if found is not None:
                    return found
        starts: list[int] = []
        keyframe = self.index.keyframe_at_or_before(index)
        while keyframe is not None and len(starts) < _SEEK_TRIES:
            starts.append(keyframe)
            keyframe = self.index.keyframe_at_or_before(keyframe - 1) if keyframe else None
        # MP4 seeks by pts, MPEG-TS by dts: both are tried, the kind that landed last time first
        tries: list[tuple[int | None, bool]] = []
        for start in starts:
            pair = [(self.index.pts[start], False), (self.index.dts_of_keyframe(start), True)]
            tries += [(t, by_dts) for t, by_dts in (pair[::-1] if self._seek_by_dts else pair) if t is not None]
        tries.append((None, False))  # the start of the file
        for timestamp, by_dts in dict.fromkeys(tries):
            self._seek(timestamp)
            found = self._walk(index, clean=False)
            if found is not None:
                if timestamp is not None:
                    self._seek_by_dts = by_dts
                return found
        when = f"{self.index.seconds(index):.3f} s"
        raise FrameDecodeError(
            f"{self.path}: frame {index} (at {when}) could not be decoded: that part of the file is damaged or "
            "cut off; the other frames may still read"
        )

    def _seek(self, timestamp: int | None) -> None:
        """Seek the demuxer to `timestamp` (stream time base), or to the file's start when None."""
        try:
            if timestamp is None:
                self._live().seek(0)  # microseconds from the container's start
            else:
                self._live().seek(timestamp, stream=self._stream, backward=True, any_frame=False)
        except av.error.FFmpegError as exc:
            raise FrameDecodeError(f"{self.path}: cannot seek ({_ffmpeg_reason(exc)})") from None
        self.seeks += 1
        self._frames = self._decoded(self._live().demux(self._stream))
        self._cursor = -1

    def _decoded(self, packets: Iterator[av.Packet]) -> Iterator[av.VideoFrame]:
        """The decoder's frames from `packets`, without the non-reference frames well before the target.

        Whether a packet may be dropped is decided as it goes in, by its pts: frames at or after the target's
        and the few kept for stepping back are always decoded, so reading on from the target loses nothing."""
        context = self._stream.codec_context
        for packet in packets:
            # a keyframe is never dropped: frames count as reachable only once the decoder has passed one
            skip = (
                self._skip_nonref
                and not packet.is_keyframe
                and packet.pts is not None
                and packet.pts < self._skip_before
            )
            context.skip_frame = "NONREF" if skip else "DEFAULT"
            for frame in self._stream.decode(packet):
                self.frames_decoded += 1
                yield frame

    def _walk(self, index: int, *, clean: bool) -> av.VideoFrame | None:
        """Decode on to frame `index`; None when the decoder passes it, ends, or reaches it from no keyframe.

        `clean`: the decoder already passed a keyframe at or before its position (it decoded on from one)."""
        frames = self._frames
        assert frames is not None
        kept = self._kept_before(index)
        self._skip_before = self.index.pts[max(0, index - kept)]
        try:
            for frame in frames:
                position = self.index.index_of_pts(_frame_pts(frame))
                if position is None:
                    continue  # a frame the demux pass did not count (none in well-formed files)
                self._check_size(frame.width, frame.height)
                self._cursor = position
                clean = clean or self.index.keyframes[position]
                if clean and index - position <= kept:  # earlier frames would only push useful ones out
                    self._remember(position, frame)
                if position > index:
                    break
                if position == index:
                    return frame if clean else None
        except av.error.FFmpegError:
            pass
        except VideoError:
            self._frames = None
            raise
        self._frames, self._cursor = None, -1  # ended, damaged, or passed the target: the next read seeks
        return None

    def _kept_before(self, index: int) -> int:
        """How many frames before `index` to decode in full and cache on the way to it.

        Stepping back (a target just behind the last frame read) fills the whole cache, so the next steps back
        are cached; a jump keeps a few, and the decoder may drop non-reference frames before those."""
        if not self._shortcuts:
            return len(self.index)
        capacity = self._cache_capacity(self.index.width, self.index.height)
        stepping_back = self._last_read - capacity <= index < self._last_read
        return capacity if stepping_back else min(capacity, _KEPT_BEFORE_JUMP)

    def _cache_capacity(self, width: int, height: int) -> int:
        """Frames of `width` x `height` the cache holds: `cache_frames`, fewer when they are large."""
        return max(1, min(self._cache_frames, CACHE_BYTES // max(1, width * height * 3 // 2)))

    def _remember(self, position: int, frame: av.VideoFrame) -> None:
        self._cache[position] = frame
        self._cache.move_to_end(position)
        while len(self._cache) > self._cache_capacity(frame.width, frame.height):
            self._cache.popitem(last=False)

    def _to_array(self, frame: av.VideoFrame) -> np.ndarray:
        image = frame.to_ndarray(format="bgr24")
        turns = self.index.rotation // 90
        return np.ascontiguousarray(np.rot90(image, turns)) if turns else image


def _frame_pts(frame: av.VideoFrame) -> int:
    pts = frame.pts if frame.pts is not None else frame.best_effort_timestamp
    return -1 if pts is None else int(pts)


def _ffmpeg_reason(exc: av.error.FFmpegError) -> str:
    """FFmpeg's reason without the errno and the file name PyAV adds ('Invalid data found when processing input')."""
    return getattr(exc, "strerror", None) or first_line(exc)
