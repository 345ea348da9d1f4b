"""An image's width and height read from its file header, before anything is decoded.

A decompression bomb (a few MB of PNG that decode to gigabytes) or a header claiming
100000x100000 pixels must be refused before the decoder allocates for it, so the size is
read here from the bytes the file starts with. Parsed by hand (a few fixed offsets per
format) rather than with Pillow: no extra runtime dependency, it works on the bytes
already in memory, and it covers the formats OpenCV decodes (Pillow has no JPEG 2000
or PFM reader without extras). Formats not listed, or headers that cannot be read,
give None: the caller then checks the size after decoding.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable

Size = tuple[int, int]  # (width, height) in pixels

_JPEG_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_JPEG_NO_LENGTH = frozenset({0x01, *range(0xD0, 0xD9)})  # TEM, RSTn, SOI: markers without a length field
_TEXT_HEADER_BYTES = 4096  # PNM/PAM/PFM/HDR sizes are ASCII tokens near the start


def image_size_from_header(data: bytes | bytearray | memoryview) -> Size | None:
    """(width, height) from the header of a PNG, JPEG, BMP, TIFF/BigTIFF, WebP, GIF, Sun raster,
    PNM/PAM/PFM, Radiance HDR or JPEG 2000 file held in `data`; None when the format or its header
    is not read here."""
    data = bytes(memoryview(data)[:_TEXT_HEADER_BYTES]) if _is_text_format(data) else memoryview(data).cast("B")
    for magic, parse in _PARSERS:
        if bytes(data[: len(magic)]) == magic:
            try:
                size = parse(data)
            except (struct.error, IndexError, ValueError):
                return None
            return size if size is not None and size[0] > 0 and size[1] > 0 else None
    return None


def _is_text_format(data) -> bool:
    head = bytes(memoryview(data)[:2])
    return len(head) == 2 and (head[0:1] == b"P" and head[1:2] in b"123456789Ff" or head == b"#?")


def _png(data) -> Size:
    if bytes(data[12:16]) != b"IHDR":
        raise ValueError("first chunk is not IHDR")
    return struct.unpack_from(">II", data, 16)


def _jpeg(data) -> Size | None:
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None  # lost sync: let the decoder judge
        while pos < len(data) and data[pos] == 0xFF:  # fill bytes
            pos += 1
        marker = data[pos]
        pos += 1
        if marker in _JPEG_NO_LENGTH:
            continue
        if marker in _JPEG_SOF:
            height, width = struct.unpack_from(">HH", data, pos + 3)
            return width, height
        if marker in (0xD9, 0xDA):  # end of image, start of scan: no frame header before them
            return None
        pos += struct.unpack_from(">H", data, pos)[0]
    return None


def _bmp(data) -> Size:
    header_size = struct.unpack_from("<I", data, 14)[0]
    if header_size == 12:  # OS/2 BITMAPCOREHEADER
        return struct.unpack_from("<HH", data, 18)
    width, height = struct.unpack_from("<ii", data, 18)
    return abs(width), abs(height)  # negative height: rows stored top-down


def _tiff(data) -> Size | None:
    """Width and length of the first image (IFD0), which is the page OpenCV decodes."""
    endian = "<" if bytes(data[:2]) == b"II" else ">"
    big = struct.unpack_from(endian + "H", data, 2)[0] == 43
    if big:
        offset = struct.unpack_from(endian + "Q", data, 8)[0]
        count, entry_size, first = struct.unpack_from(endian + "Q", data, offset)[0], 20, offset + 8
    else:
        offset = struct.unpack_from(endian + "I", data, 4)[0]
        count, entry_size, first = struct.unpack_from(endian + "H", data, offset)[0], 12, offset + 2
    found: dict[int, int] = {}
    for i in range(min(count, (len(data) - first) // entry_size)):
        entry = first + i * entry_size
        tag, kind = struct.unpack_from(endian + "HH", data, entry)
        if tag not in (256, 257):
            continue
        value_at = entry + (12 if big else 8)
        code = {3: "H", 4: "I", 16: "Q"}.get(kind)
        if code is None:
            return None
        found[tag] = struct.unpack_from(endian + code, data, value_at)[0]
    if 256 not in found or 257 not in found:
        return None
    return found[256], found[257]


def _webp(data) -> Size | None:
    if bytes(data[8:12]) != b"WEBP":
        return None
    chunk = bytes(data[12:16])
    if chunk == b"VP8X":  # extended: the canvas size, 24-bit minus one
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    if chunk == b"VP8L":  # lossless: 14-bit sizes minus one after the 0x2F signature
        bits = struct.unpack_from("<I", data, 21)[0]
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 ":  # lossy: after the 3-byte frame tag and the start code 9D 01 2A
        if bytes(data[23:26]) != b"\x9d\x01\x2a":
            return None
        width, height = struct.unpack_from("<HH", data, 26)
        return width & 0x3FFF, height & 0x3FFF
    return None


def _gif(data) -> Size:
    return struct.unpack_from("<HH", data, 6)


def _sun_raster(data) -> Size:
    return struct.unpack_from(">II", data, 4)


_TOKEN = re.compile(rb"(?:\s|#[^\n]*\n)*(\S+)")


def _pnm(data: bytes) -> Size | None:
    """P1-P6 and PFM ('PF'/'Pf'): width and height are the first two tokens; P7 (PAM) names them."""
    if data[1:2] == b"7":
        width = re.search(rb"\nWIDTH\s+(\d+)", data)
        height = re.search(rb"\nHEIGHT\s+(\d+)", data)
        return (int(width.group(1)), int(height.group(1))) if width and height else None
    tokens = []
    pos = 2
    while len(tokens) < 2:
        match = _TOKEN.match(data, pos)
        if match is None:
            return None
        tokens.append(int(match.group(1)))
        pos = match.end()
    return tokens[0], tokens[1]


def _radiance(data: bytes) -> Size | None:
    """Radiance HDR: text lines, a blank line, then e.g. '-Y 480 +X 640' (rows, then columns)."""
    end = data.find(b"\n\n")
    if end < 0:
        return None
    line = data[end + 2 :].split(b"\n", 1)[0].split()
    if len(line) != 4:
        return None
    rows, cols = (int(line[1]), int(line[3])) if line[0][1:] == b"Y" else (int(line[3]), int(line[1]))
    return cols, rows


def _jp2(data) -> Size | None:
    """JP2 file: the 'ihdr' box inside the 'jp2h' header box holds height then width."""
    header = _find_box(data, 0, len(data), b"jp2h")
    if header is None:
        return None
    ihdr = _find_box(data, *header, b"ihdr")
    if ihdr is None:
        return None
    height, width = struct.unpack_from(">II", data, ihdr[0])
    return width, height


def _find_box(data, start: int, end: int, kind: bytes) -> tuple[int, int] | None:
    """(content start, content end) of the first box of `kind` among the boxes in [start, end)."""
    pos = start
    while pos + 8 <= end:
        length, box = struct.unpack_from(">I4s", data, pos)
        content = pos + 8
        if length == 1:
            length, content = struct.unpack_from(">Q", data, pos + 8)[0], pos + 16
        elif length == 0:
            length = end - pos
        if length < content - pos:
            return None
        if box == kind:
            return content, min(pos + length, end)
        pos += length
    return None


def _j2k(data) -> Size:
    """Raw JPEG 2000 codestream: the SIZ segment right after SOC gives the reference grid and its offset."""
    if bytes(data[2:4]) != b"\xff\x51":
        raise ValueError("no SIZ segment")
    xsiz, ysiz, xosiz, yosiz = struct.unpack_from(">IIII", data, 8)
    return xsiz - xosiz, ysiz - yosiz


_PARSERS: tuple[tuple[bytes, Callable], ...] = (
    (b"\x89PNG\r\n\x1a\n", _png),
    (b"\xff\xd8", _jpeg),
    (b"BM", _bmp),
    (b"II*\x00", _tiff),
    (b"MM\x00*", _tiff),
    (b"II+\x00", _tiff),
    (b"MM\x00+", _tiff),
    (b"RIFF", _webp),
    (b"GIF87a", _gif),
    (b"GIF89a", _gif),
    (b"\x59\xa6\x6a\x95", _sun_raster),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", _jp2),
    (b"\xff\x4f", _j2k),
    (b"#?", _radiance),
    *((b"P" + bytes([c]), _pnm) for c in b"1234567Ff"),
)
