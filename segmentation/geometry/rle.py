"""COCO run-length encoding (RLE) without decoding whole images.

COCO RLE runs over a mask in column-major order, alternately background and object,
starting with background; the compressed form packs the run lengths into a string.
Here both directions work on the object's own columns only, so the cost follows the
object's size rather than the image's (a 12 MP photo has mostly empty columns).
"""

from __future__ import annotations

import cv2
import numpy as np
import pycocotools.mask as mask_utils


def mask_to_rle(mask: np.ndarray) -> dict:
    """Compressed COCO RLE of a binary mask (`counts` a str)."""
    return str_counts(mask_utils.encode(np.asfortranarray(np.asarray(mask, dtype=np.uint8))))


def rle_area(rle: dict) -> int:
    """Pixel count of a COCO RLE (compressed or uncompressed)."""
    return int(rle_counts(rle)[1::2].sum())


def rle_to_mask(rle: dict) -> np.ndarray:
    """Decode a COCO RLE (compressed, or uncompressed with a list of counts) to bool [h, w]."""
    return mask_utils.decode(compressed(rle)).astype(bool)


def rle_counts(rle: dict) -> np.ndarray:
    """The run lengths of a COCO RLE (alternately background and object, column-major) as int64."""
    counts = rle["counts"]
    if isinstance(counts, list):
        return np.asarray(counts, dtype=np.int64)
    data = counts.encode("ascii") if isinstance(counts, str) else bytes(counts)
    return _decode_counts(np.frombuffer(data, np.uint8).astype(np.int64) - 48)


def _decode_counts(chars: np.ndarray) -> np.ndarray:
    """pycocotools' string format, vectorised: each count is a little-endian group of 5-bit chars
    (0x20 = more follows, 0x10 on the last = negative), and from the 4th on counts are stored
    as differences to the count two before."""
    if chars.size == 0:
        return np.zeros(0, np.int64)
    if chars.min() < 0 or chars.max() > 63:
        raise ValueError("RLE counts string has characters outside pycocotools' alphabet")
    last = (chars & 0x20) == 0
    if not last[-1]:
        raise ValueError("RLE counts string ends in the middle of a count (truncated?)")
    group_end = np.flatnonzero(last)
    group_start = np.concatenate([[0], group_end[:-1] + 1])
    position = np.arange(chars.size) - np.repeat(group_start, group_end - group_start + 1)
    values = np.add.reduceat((chars & 0x1F) << (5 * position), group_start)
    negative = (chars[group_end] & 0x10) != 0
    values[negative] -= np.left_shift(1, 5 * (position[group_end[negative]] + 1))
    if values.size > 3:
        values[3::2] = np.cumsum(values[1::2])[1:]
    if values.size > 2:
        values[2::2] = np.cumsum(values[2::2])
    return values


def rle_crop(rle: dict) -> tuple[np.ndarray, int, int] | None:
    """(bool crop, x0, y0) holding every pixel of an RLE, without decoding the whole image; None if empty."""
    height, width = (int(v) for v in rle["size"])
    counts = rle_counts(rle)
    if counts.size and (counts.min() < 0 or counts.sum() != height * width):
        raise ValueError(f"RLE counts do not add up to {height}x{width} pixels")
    edges = np.cumsum(counts)[:-1] if counts.size else counts
    starts, ends = edges[0::2], edges[1::2]
    if ends.size < starts.size:
        ends = np.append(ends, height * width)
    keep = ends > starts
    starts, ends = starts[keep], ends[keep]
    if starts.size == 0:
        return None
    start_col, start_row = np.divmod(starts, height)
    end_col, end_row = np.divmod(ends - 1, height)
    x0, x1 = int(start_col[0]), int(end_col[-1]) + 1
    if np.array_equal(start_col, end_col):  # every run within one column: crop the rows too
        y0, y1 = int(start_row.min()), int(end_row.max()) + 1
    else:
        y0, y1 = 0, height
    # runs become contiguous ranges of the crop's column-major buffer: mark and integrate
    crop_h = y1 - y0
    marks = np.zeros((x1 - x0) * crop_h + 1, np.int8)
    if y0 == 0 and y1 == height:
        marks[starts - x0 * height] += 1
        marks[ends - x0 * height] -= 1
    else:
        marks[(start_col - x0) * crop_h + start_row - y0] += 1
        marks[(end_col - x0) * crop_h + end_row - y0 + 1] -= 1
    columns = np.cumsum(marks[:-1], dtype=np.int8).view(np.uint8).reshape(x1 - x0, crop_h)
    return cv2.transpose(columns).view(bool), x0, y0


def rle_window(rle: dict, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    """bool [y1 - y0, x1 - x0]: pixels [y0:y1, x0:x1] of a COCO RLE (compressed or not), from the
    runs that reach the window only, so the cost follows the window and the object, not the image."""
    height, width = (int(v) for v in rle["size"])
    if not (0 <= x0 <= x1 <= width and 0 <= y0 <= y1 <= height):
        raise ValueError(f"window {(x0, y0, x1, y1)} is not inside the {width}x{height} mask")
    counts = rle_counts(rle)
    if counts.size and (counts.min() < 0 or counts.sum() != height * width):
        raise ValueError(f"RLE counts do not add up to {height}x{width} pixels")
    window_h = y1 - y0
    edges = np.cumsum(counts)[:-1] if counts.size else counts
    starts, ends = edges[0::2], edges[1::2]
    if ends.size < starts.size:
        ends = np.append(ends, height * width)
    # runs clipped to the window's columns (column-major: a run may span several columns)
    starts, ends = np.maximum(starts, x0 * height), np.minimum(ends, x1 * height)
    keep = ends > starts
    start_col, start_row = np.divmod(starts[keep], height)
    end_col, end_row = np.divmod(ends[keep] - 1, height)
    end_row += 1
    if not np.array_equal(start_col, end_col):  # split runs that go on into the next columns
        spans = end_col - start_col + 1
        first = np.repeat(np.cumsum(spans) - spans, spans)
        col = np.repeat(start_col, spans) + np.arange(first.size) - first
        start_row = np.where(col == np.repeat(start_col, spans), np.repeat(start_row, spans), 0)
        end_row = np.where(col == np.repeat(end_col, spans), np.repeat(end_row, spans), height)
        start_col = col
    # one piece per run and column, rows clipped to the window's; the pieces are in column-major
    # order, so the window's column-major buffer is alternately background and piece
    r0, r1 = np.clip(start_row, y0, y1) - y0, np.clip(end_row, y0, y1) - y0
    nonempty = r1 > r0
    base = (start_col[nonempty] - x0) * window_h
    bounds = np.empty(2 * base.size + 2, np.int64)
    bounds[0], bounds[-1] = 0, (x1 - x0) * window_h
    bounds[1:-1:2], bounds[2:-1:2] = base + r0[nonempty], base + r1[nonempty]
    values = np.zeros(bounds.size - 1, np.uint8)
    values[1::2] = 1
    columns = np.repeat(values, np.diff(bounds)).reshape(x1 - x0, window_h)
    return cv2.transpose(columns).view(bool) if columns.size else np.zeros((window_h, x1 - x0), bool)


def rle_from_crop(crop: np.ndarray, x0: int, y0: int, height: int, width: int) -> dict:
    """Compressed RLE of a full height x width mask that is `crop` at (x0, y0) and empty elsewhere."""
    # COCO RLE runs over the mask in column-major order, starting with a run of zeros. Pad
    # every crop column with a zero above and below, so each run starts and ends inside it.
    ch = crop.shape[0] + 2
    padded = np.zeros((crop.shape[1], ch), bool)
    padded[:, 1:-1] = crop.T
    flat = padded.ravel()
    pos = np.flatnonzero(flat[1:] != flat[:-1]) + 1  # alternately first pixel in / first pixel out
    edges = (pos // ch + x0) * height + (pos % ch - 1 + y0)
    if len(edges) > 2:  # a run may go on in the next column when the crop spans the full height
        joined = np.flatnonzero(edges[1:-1:2] == edges[2::2])
        if joined.size:
            edges = np.delete(edges, np.concatenate([2 * joined + 1, 2 * joined + 2]))
    counts = np.diff(edges, prepend=0, append=height * width)
    if len(counts) > 1 and counts[-1] == 0:
        counts = counts[:-1]
    return str_counts(mask_utils.frPyObjects({"size": [height, width], "counts": counts.tolist()}, height, width))


def str_counts(rle: dict) -> dict:
    """An RLE as it goes into JSON: plain ints for `size`, `counts` a str (pycocotools gives bytes)."""
    counts = rle["counts"]
    return {"size": [int(rle["size"][0]), int(rle["size"][1])],
            "counts": counts.decode("ascii") if isinstance(counts, bytes) else counts}


def compressed(rle: dict) -> dict:
    """An RLE as pycocotools' C functions take it: compressed `counts` as bytes."""
    h, w = (int(v) for v in rle["size"])
    counts = rle["counts"]
    if isinstance(counts, list):
        return mask_utils.frPyObjects({"size": [h, w], "counts": counts}, h, w)
    return {"size": [h, w], "counts": counts.encode("ascii") if isinstance(counts, str) else counts}
