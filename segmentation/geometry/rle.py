"""COCO run-length encoding (RLE) without decoding whole images.

COCO RLE runs over a mask in column-major order, alternately background and object,
starting with background; the compressed form packs the run lengths into a string.
Here both directions work on the object's own columns only, so the cost follows the
object's size rather than the image's (a 12 MP photo has mostly empty columns).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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
    """pycocotools' string format of one RLE (chars - 48), checked, as int64 run lengths."""
    if chars.size == 0:
        return np.zeros(0, np.int64)
    if chars.min() < 0 or chars.max() > 63:
        raise ValueError("RLE counts string has characters outside pycocotools' alphabet")
    if chars[-1] & 0x20:
        raise ValueError("RLE counts string ends in the middle of a count (truncated?)")
    return _decode_strings(chars, np.array([chars.size]))[0]


def _decode_strings(chars: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Several counts strings (chars - 48, one after another, `lengths` chars each), each already
    checked (alphabet, ends on a count's last char), as (all their counts, how many per string).

    pycocotools' format, vectorised: each count is a little-endian group of 5-bit chars (0x20 =
    more follows, 0x10 on the last = negative), and from the 4th count of a string on, counts are
    stored as differences to the count two before."""
    group_end = np.flatnonzero((chars & 0x20) == 0)
    group_size = np.diff(group_end, prepend=-1)
    # Horner from each group's last (most significant) char back: one pass per char position
    values = (chars[group_end] & 0x1F).astype(np.int64)
    longer = np.flatnonzero(group_size > 1)
    back = 1
    while longer.size:
        values[longer] = (values[longer] << 5) | (chars[group_end[longer] - back] & 0x1F)
        back += 1
        longer = longer[group_size[longer] > back]
    negative = np.flatnonzero(chars[group_end] & 0x10)
    values[negative] -= np.left_shift(1, 5 * group_size[negative])
    if len(lengths) == 1:  # one string (rle_counts): its chains are plain strided slices
        if values.size > 3:
            values[3::2] = np.cumsum(values[1::2])[1:]
        if values.size > 2:
            values[2::2] = np.cumsum(values[2::2])
        return values, np.array([values.size])
    per_string = np.diff(np.searchsorted(group_end, np.cumsum(lengths)), prepend=0)
    index = np.arange(values.size) - np.repeat(np.cumsum(per_string) - per_string, per_string)
    # the differences chain within a string: odd counts from the 2nd on, even ones from the 3rd on
    for chain in (np.flatnonzero(index & 1), np.flatnonzero((index & 1 == 0) & (index >= 2))):
        if chain.size == 0:
            continue
        raw = values[chain]
        total = np.cumsum(raw)
        head = index[chain] <= 2
        values[chain] = total - (total - raw)[head][np.cumsum(head) - 1]
    return values, per_string


@dataclass(frozen=True)
class CountsBatch:
    """The run lengths of many RLEs, read in one pass: RLE k (input position `index[k]`, a
    `height[k]` x `width[k]` mask) has the `lengths[k]` counts after the previous RLE's."""

    index: np.ndarray  # int64 [K]
    height: np.ndarray  # int64 [K]
    width: np.ndarray  # int64 [K]
    counts: np.ndarray  # int64 [sum(lengths)]
    lengths: np.ndarray  # int64 [K]


_LONGEST_COUNT = 12  # chars: 60 bits; a longer group is corrupt, left to rle_counts to report
_LARGEST_SIDE = 1 << 31  # pixels (pycocotools' sizes are 32-bit); any other size is left to rle_crop


def rle_counts_batch(rles: Sequence[dict]) -> CountsBatch:
    """The counts of every RLE that `rle_crop` would read without error, decoded in one vectorised
    pass (the per-call overhead dominates for a COCO file's many small RLEs). Any other RLE (corrupt,
    empty counts, counts not adding up to its size) is left out, for `rle_crop` to give its error."""
    strings, string_rles, lists, list_rles, sizes = [], [], [], [], {}
    for i, rle in enumerate(rles):
        try:
            height, width = (int(v) for v in rle["size"])
            if not (0 <= height < _LARGEST_SIDE and 0 <= width < _LARGEST_SIDE):
                continue
            counts = rle["counts"]
            if isinstance(counts, (str, bytes)):
                strings.append(counts.encode("ascii") if isinstance(counts, str) else counts)
                string_rles.append(i)
            elif isinstance(counts, list):
                array = np.asarray(counts, dtype=np.int64)
                if array.ndim != 1:
                    continue
                lists.append(array)
                list_rles.append(i)
            else:
                continue
            sizes[i] = (height, width)
        except Exception:  # noqa: BLE001 - the one-RLE path reports it
            continue
    values, lengths, index = _decode_batch(strings, string_rles)
    counts = np.concatenate([values, *lists]) if lists else values
    lengths = np.concatenate([lengths, [len(a) for a in lists]]).astype(np.int64)
    index = np.concatenate([index, list_rles]).astype(np.int64)
    size = np.array([sizes[i] for i in index.tolist()], np.int64).reshape(-1, 2)
    # what rle_crop checks: no negative count, counts adding up to the size (and some counts)
    starts = np.cumsum(lengths) - lengths
    ok = lengths > 0
    if ok.any():
        ok[ok] = (np.add.reduceat(counts, starts[ok]) == size[ok, 0] * size[ok, 1]) & (
            np.minimum.reduceat(counts, starts[ok]) >= 0
        )
    if not ok.all():
        counts = counts[np.repeat(ok, lengths)]
        index, size, lengths = index[ok], size[ok], lengths[ok]
    return CountsBatch(index, size[:, 0].copy(), size[:, 1].copy(), counts, lengths)


def _decode_batch(strings: list[bytes], rles: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(counts, counts per string, input index) of the counts strings that are well formed."""
    lengths = np.fromiter((len(s) for s in strings), np.int64, len(strings))
    raw = np.frombuffer(b"".join(strings), np.uint8)
    chars = raw - np.uint8(48)  # wraps outside the alphabet, but those strings are dropped here
    ends = np.cumsum(lengths)
    bad = np.zeros(len(strings), bool)
    bad[np.searchsorted(ends, np.flatnonzero((raw < 48) | (raw > 111)), side="right")] = True
    nonempty = lengths > 0
    bad[nonempty] |= (chars[ends[nonempty] - 1] & 0x20) != 0  # truncated in a count
    group_end = np.flatnonzero((chars & 0x20) == 0)
    group_size = np.diff(group_end, prepend=-1)
    bad[np.searchsorted(ends, group_end[group_size > _LONGEST_COUNT], side="right")] = True
    index = np.asarray(rles, np.int64)
    if bad.any():
        keep = ~bad
        chars, lengths, index = chars[np.repeat(keep, lengths)], lengths[keep], index[keep]
    values, per_string = _decode_strings(chars, lengths)
    return values, per_string, index


def rle_crop(rle: dict) -> tuple[np.ndarray, int, int] | None:
    """(bool crop, x0, y0) holding every pixel of an RLE, without decoding the whole image; None if empty."""
    height, width = (int(v) for v in rle["size"])
    counts = rle_counts(rle)
    if counts.size and (counts.min() < 0 or counts.sum() != height * width):
        raise ValueError(f"RLE counts do not add up to {height}x{width} pixels")
    if counts.size == 0:
        return None
    one = np.ones(1, np.int64)
    pieces = rle_crop_pieces(CountsBatch(one * 0, one * height, one * width, counts, one * counts.size))
    if not pieces.nonempty[0]:
        return None
    x0, y0, x1, y1 = pieces.box[0].tolist()
    return paint_column_pieces(x1 - x0, y1 - y0, pieces.column, pieces.top, pieces.bottom).view(bool), x0, y0


def paint_column_pieces(width: int, height: int, column: np.ndarray, top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """uint8 0/1 [height, width] with rows [top, bottom) of each column `column` set (disjoint pieces)."""
    # the pieces are disjoint ranges of the image's column-major buffer: sorted, that buffer is
    # alternately background and piece (np.repeat fills it several times faster than a cumsum)
    starts = column * height + top
    order = np.argsort(starts)
    bounds = np.empty(2 * len(order) + 2, np.int64)
    bounds[0], bounds[-1] = 0, width * height
    bounds[1:-1:2], bounds[2:-1:2] = starts[order], (column * height + bottom)[order]
    values = np.zeros(len(bounds) - 1, np.uint8)
    values[1::2] = 1
    return cv2.transpose(np.repeat(values, np.diff(bounds)).reshape(width, height))


@dataclass(frozen=True)
class CropPieces:
    """Where the pixels of a CountsBatch's RLEs lie. RLE k's pixels all lie in `box[k]` (x0, y0,
    x1, y1: the crop `rle_crop` gives; `nonempty[k]` False where it has no pixel), and piece p
    covers rows [top[p], bottom[p]) of column column[p] of RLE owner[p]'s crop (crop coordinates)."""

    box: np.ndarray  # int64 [K, 4]
    nonempty: np.ndarray  # bool [K]
    owner: np.ndarray  # int64 [P], pieces RLE after RLE
    column: np.ndarray  # int64 [P]
    top: np.ndarray  # int64 [P]
    bottom: np.ndarray  # int64 [P]


def rle_crop_pieces(batch: CountsBatch) -> CropPieces:
    """The crops of a batch's RLEs as column pieces, for all RLEs in one vectorised pass."""
    k = len(batch.lengths)
    starts = np.cumsum(batch.lengths) - batch.lengths
    # pixel runs: count j of an RLE ends at its running total; odd counts are object runs
    owner = np.repeat(np.arange(k), batch.lengths)
    totals = np.cumsum(batch.counts)
    ends = totals - np.repeat(totals[starts] - batch.counts[starts], batch.lengths) if k else totals
    odd = ((np.arange(len(owner)) - np.repeat(starts, batch.lengths)) & 1 == 1) & (batch.counts > 0)
    owner, end, length = owner[odd], ends[odd], batch.counts[odd]
    height = batch.height[owner]
    start_col, start_row = np.divmod(end - length, height)
    end_col, end_row = np.divmod(end - 1, height)
    runs = np.bincount(owner, minlength=k)
    nonempty = runs > 0
    first = (np.cumsum(runs) - runs)[nonempty]
    box = np.zeros((k, 4), np.int64)
    box[nonempty, 0] = start_col[first]
    box[nonempty, 2] = end_col[np.cumsum(runs)[nonempty] - 1] + 1
    # rows: the runs' own where every run stays in one column, else the full height (rle_crop's crop)
    crossing = end_col != start_col
    if first.size:
        within = np.maximum.reduceat(crossing, first) == 0
        box[nonempty, 1] = np.where(within, np.minimum.reduceat(start_row, first), 0)
        box[nonempty, 3] = np.where(within, np.maximum.reduceat(end_row, first) + 1, batch.height[nonempty])
    end_row = end_row + 1
    if crossing.any():  # one piece per run and column
        spans = end_col - start_col + 1
        run = np.repeat(np.arange(len(spans)), spans)
        column = start_col[run] + np.arange(len(run)) - np.repeat(np.cumsum(spans) - spans, spans)
        top = np.where(column == start_col[run], start_row[run], 0)
        bottom = np.where(column == end_col[run], end_row[run], height[run])
        owner, start_col, start_row, end_row = owner[run], column, top, bottom
    return CropPieces(
        box, nonempty, owner, start_col - box[owner, 0], start_row - box[owner, 1], end_row - box[owner, 1]
    )


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
    return {
        "size": [int(rle["size"][0]), int(rle["size"][1])],
        "counts": counts.decode("ascii") if isinstance(counts, bytes) else counts,
    }


def compressed(rle: dict) -> dict:
    """An RLE as pycocotools' C functions take it: compressed `counts` as bytes."""
    h, w = (int(v) for v in rle["size"])
    counts = rle["counts"]
    if isinstance(counts, list):
        return mask_utils.frPyObjects({"size": [h, w], "counts": counts}, h, w)
    return {"size": [h, w], "counts": counts.encode("ascii") if isinstance(counts, str) else counts}
