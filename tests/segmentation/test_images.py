"""Image reading: the size limit is checked from the header, before any decoding.

Oracles: OpenCV's decoder for real files (the size we read must be the size it decodes) and
Pillow (a test-only dependency, via scikit-image) for hand-made headers claiming huge sizes.
"""

from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

import protolabel.segmentation.images as images
from protolabel.segmentation.image_headers import image_size_from_header
from protolabel.segmentation.images import MAX_PIXELS, ImageReadError, read_image

FORMATS = (
    ".png",
    ".jpg",
    ".bmp",
    ".tif",
    ".webp",
    ".jp2",
    ".pbm",
    ".pgm",
    ".ppm",
    ".pam",
    ".pfm",
    ".hdr",
    ".gif",
    ".sr",
)


def _encoded(ext: str, width: int, height: int) -> bytes:
    image = np.random.default_rng(width * height).integers(0, 255, (height, width, 3), dtype=np.uint8)
    if ext in (".pfm", ".hdr"):
        image = image.astype(np.float32) / 255
    elif ext in (".pbm", ".pgm"):
        image = image[..., 0]
    ok, buf = cv2.imencode(ext, image)
    assert ok
    return buf.tobytes()


@pytest.mark.parametrize("ext", FORMATS)
@pytest.mark.parametrize("size", [(53, 37), (40, 300), (260, 33)])
def test_header_size_is_the_decoded_size(ext, size):
    data = _encoded(ext, *size)
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR)
    assert image_size_from_header(data) == (decoded.shape[1], decoded.shape[0])


def test_jpeg_size_found_after_large_metadata_segments(tmp_path):
    data = _encoded(".jpg", 70, 20)
    app = b"\xff\xe2" + struct.pack(">H", 65535) + bytes(65533)  # an ICC-profile-sized APP2 segment
    data = data[:2] + app * 3 + data[2:]
    assert image_size_from_header(data) == (70, 20)
    path = tmp_path / "metadata.jpg"
    path.write_bytes(data)
    assert read_image(path).shape == (20, 70, 3)


def test_unknown_or_truncated_headers_give_none():
    assert image_size_from_header(b"") is None
    assert image_size_from_header(b"not an image at all") is None
    assert image_size_from_header(_encoded(".png", 5, 5)[:14]) is None
    assert image_size_from_header(b"\xff\xd8\xff\xe0\x00\x10JFIF") is None


# ------------------------------------------------------------------ hand-made huge headers


def _png(width: int, height: int) -> bytes:
    """A 1x1 PNG whose IHDR (CRC recomputed) claims width x height."""
    data = bytearray(_encoded(".png", 1, 1))
    ihdr = b"IHDR" + struct.pack(">II", width, height) + bytes(data[24:29])
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(ihdr))
    return bytes(data)


def _jpeg(width: int, height: int) -> bytes:
    data = bytearray(_encoded(".jpg", 1, 1))
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _bmp(width: int, height: int) -> bytes:
    data = bytearray(_encoded(".bmp", 1, 1))
    data[18:26] = struct.pack("<ii", width, -height)  # top-down rows: negative height
    return bytes(data)


def _tiff(width: int, height: int, *, big: bool = False) -> bytes:
    """A minimal little-endian (Big)TIFF: one 8-bit gray strip of zeros."""
    tags = [
        (256, 4, width),
        (257, 4, height),
        (258, 3, 8),
        (259, 3, 1),
        (262, 3, 1),
        (273, 4, 0),
        (277, 3, 1),
        (278, 4, height),
        (279, 4, 1),
    ]
    if big:
        ifd = 16
        head = b"II+\x00" + struct.pack("<HHQ", 8, 0, ifd)
        entries = b"".join(struct.pack("<HHQQ", tag, 16 if kind == 4 else kind, 1, value) for tag, kind, value in tags)
        body = struct.pack("<Q", len(tags)) + entries + struct.pack("<Q", 0)
    else:
        ifd = 8
        head = b"II*\x00" + struct.pack("<I", ifd)
        entries = b"".join(struct.pack("<HHII", tag, kind, 1, value) for tag, kind, value in tags)
        body = struct.pack("<H", len(tags)) + entries + struct.pack("<I", 0)
    data = bytearray(head + body + b"\x00")
    strip = len(data) - 1
    offset_entry = ifd + (8 if big else 2) + 5 * (20 if big else 12) + (12 if big else 8)
    struct.pack_into("<Q" if big else "<I", data, offset_entry, strip)
    return bytes(data)


def _webp_extended(width: int, height: int) -> bytes:
    chunk = (
        b"VP8X"
        + struct.pack("<I", 10)
        + bytes(4)
        + (width - 1).to_bytes(3, "little")
        + (height - 1).to_bytes(3, "little")
    )
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


HUGE = {
    "png": _png,
    "jpeg": _jpeg,
    "bmp": _bmp,
    "tiff": _tiff,
    "bigtiff": lambda w, h: _tiff(w, h, big=True),
    "webp": _webp_extended,
}


@pytest.mark.parametrize("kind", ["png", "jpeg", "bmp", "tiff", "bigtiff"])
def test_handmade_headers_say_what_pillow_reads(kind):
    data = HUGE[kind](40000, 30000)
    Image.MAX_IMAGE_PIXELS = None  # only the header is read: no bomb for Pillow either
    try:
        with Image.open(io.BytesIO(data)) as im:
            assert im.size == (40000, 30000)
    finally:
        Image.MAX_IMAGE_PIXELS = 89_478_485
    assert image_size_from_header(data) == (40000, 30000)


@pytest.fixture
def no_decoding(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the decoder was called")

    monkeypatch.setattr(images.cv2, "imdecode", refuse)


@pytest.mark.parametrize("kind", sorted(HUGE))
def test_bomb_refused_from_the_header_without_decoding(kind, tmp_path, no_decoding):
    path = tmp_path / f"bomb-{kind}"
    path.write_bytes(HUGE[kind](32000, 32000))
    with pytest.raises(ImageReadError) as info:
        read_image(path)
    message = str(info.value)
    assert str(path) in message and "32000x32000" in message and "300 MP" in message
    assert "\n" not in message


def test_header_of_100000_squared_gives_our_message_not_opencvs(tmp_path):
    path = tmp_path / "huge.png"
    path.write_bytes(_png(100000, 100000))
    with pytest.raises(ImageReadError, match=r"huge\.png: image is 100000x100000 pixels, more than the 300 MP"):
        read_image(path)


def test_size_at_the_limit_passes_the_header_check(tmp_path, monkeypatch):
    """Exactly MAX_PIXELS is allowed: the header check lets the file through to the decoder."""
    called = []
    monkeypatch.setattr(images.cv2, "imdecode", lambda *a: called.append(1))  # returns None: "corrupt"
    path = tmp_path / "limit.png"
    path.write_bytes(_png(MAX_PIXELS // 10_000, 10_000))
    with pytest.raises(ImageReadError, match="not an image or the file is corrupt"):
        read_image(path)
    assert called


def test_formats_without_a_header_reader_are_checked_after_decoding(tmp_path, monkeypatch):
    monkeypatch.setattr(images, "image_size_from_header", lambda data: None)
    monkeypatch.setattr(images, "MAX_PIXELS", 100)
    path = tmp_path / "small.png"
    path.write_bytes(_encoded(".png", 20, 10))
    with pytest.raises(ImageReadError, match=r"small\.png: image is 20x10 pixels"):
        read_image(path)


@pytest.mark.parametrize("ext", FORMATS)
def test_normal_images_still_read(ext, tmp_path):
    path = tmp_path / f"photo{ext}"
    path.write_bytes(_encoded(ext, 64, 48))
    image = read_image(path)
    assert image.shape == (48, 64, 3) and image.dtype == np.uint8
