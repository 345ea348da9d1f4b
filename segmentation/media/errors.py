"""What can go wrong with a video or a frame folder, each kind its own class with a message naming the file."""

from __future__ import annotations

from protolabel.segmentation.images import ImageReadError


class VideoError(ImageReadError):
    """A video, or one of its frames, cannot be read; the message names the file, the reason and the way out.

    An ImageReadError: every place that reports an unreadable input (the CLI's "skipped: ...", the app's
    image list) reports a video frame the same way."""


class NotAVideoError(VideoError):
    """The file is not a video the program can read: corrupt, truncated, no video stream, or a FIFO/device/link."""


class UnsupportedCodecError(VideoError):
    """The file's video stream is in a codec this build of FFmpeg cannot decode."""


class EmptyVideoError(VideoError):
    """The file's video stream holds no frames."""


class VideoTooLargeError(VideoError):
    """The frames are larger than the image size limit (images.MAX_PIXELS)."""


class FrameDecodeError(VideoError):
    """One frame could not be decoded (a damaged or cut-off part of the file); the others may still read."""


class VideoChangedError(VideoError):
    """The file was replaced, changed or removed after it was opened: its frame numbers may no longer hold."""
