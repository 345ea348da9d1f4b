"""Reading images from disk the way the whole product sees them, with clear errors."""

from __future__ import annotations

import os
import re
from pathlib import Path

import cv2
import numpy as np

from protolabel.segmentation.image_headers import image_size_from_header
from protolabel.segmentation.input_files import InputFileError, read_input_bytes

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".jp2", ".pbm", ".pgm", ".ppm"}
)
MAX_PIXELS = 300_000_000  # beyond this a single image would need gigabytes per mask stack
MAX_IMAGE_BYTES = MAX_PIXELS * 8  # the largest image file read: MAX_PIXELS of uncompressed 16-bit RGBA

# Decoding failures become one clear ImageReadError; OpenCV's own stderr chatter about them is noise.
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)


class ImageReadError(Exception):
    """An image file could not be read; the message names the file and the reason."""


def read_image(path: str | os.PathLike, *, follow_links: bool = True) -> np.ndarray:
    """Read an image as BGR uint8 H x W x 3, EXIF orientation applied.

    Works for non-ASCII paths, grayscale, RGBA (alpha dropped), 16-bit and float images.
    Every reader of user images (CLI, thumbnails, canvas, training) comes here, so the size
    limit is checked from the header before decoding (a decompression bomb costs nothing).
    `follow_links=False` refuses a symlink (a frame folder's frames are files of that folder).
    """
    path = Path(path)
    try:
        raw = read_input_bytes(path, MAX_IMAGE_BYTES, what="image file", follow_links=follow_links)
        data = np.frombuffer(raw, dtype=np.uint8)
    except InputFileError as exc:  # a FIFO or device (which would block or never end), or too large
        raise ImageReadError(f"{path}: {exc.strerror}") from None
    except OSError as exc:
        raise ImageReadError(f"{path}: cannot open file ({exc.strerror or exc})") from None
    if data.size == 0:
        raise ImageReadError(f"{path}: file is empty")
    header_size = image_size_from_header(data)
    if header_size is not None:  # refuse a decompression bomb before the decoder allocates for it
        check_image_size(path, *header_size)
    # ANYDEPTH|ANYCOLOR keeps 16-bit data and still applies the EXIF orientation (UNCHANGED would not).
    try:
        image = cv2.imdecode(data, cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR)
    except cv2.error as exc:
        raise ImageReadError(f"{path}: cannot decode image ({str(exc).strip().splitlines()[-1]})") from None
    if image is None:
        raise ImageReadError(f"{path}: not an image or the file is corrupt")
    check_image_size(path, image.shape[1], image.shape[0])  # formats whose header is not read beforehand
    return to_bgr8(image)


def check_image_size(path: str | os.PathLike, width: int, height: int) -> None:
    """Raise ImageReadError naming the file when width x height is more than MAX_PIXELS."""
    if width * height > MAX_PIXELS:
        raise ImageReadError(
            f"{path}: image is {width}x{height} pixels, more than the {MAX_PIXELS // 1_000_000} MP supported"
        )


def to_bgr8(image: np.ndarray) -> np.ndarray:
    """Convert any decoded image (gray, BGRA, 16-bit, float) to BGR uint8."""
    if image.dtype == np.uint16:
        image = (image.astype(np.float32) / 257.0).round().astype(np.uint8)
    elif image.dtype in (np.float32, np.float64):
        scale = 255.0 if float(np.nanmax(image, initial=0.0)) <= 1.0 else 1.0
        image = np.clip(np.nan_to_num(image) * scale, 0, 255).round().astype(np.uint8)
    elif image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    elif image.shape[2] == 1:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return np.ascontiguousarray(image)


def natural_key(text: str) -> list:
    """Sort key that orders 'img2' before 'img10'."""
    return [int(part) if part.isdigit() else part.casefold() for part in re.split(r"(\d+)", text)]
