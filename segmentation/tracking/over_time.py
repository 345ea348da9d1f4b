"""The prototype inspector over time, Qt-free: a track's coefficients frame by frame, and how much each
prototype contributes to its mask on each frame (the data behind a heat strip under the timeline)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from protolabel.segmentation.detections import Detections
from protolabel.segmentation.geometry.box_masks import BoxMasks
from protolabel.segmentation.tracking.tracks import Track

__all__ = ["coefficient_strip", "contribution_strip", "mask_on_prototype_grid"]


def coefficient_strip(track: Track) -> tuple[np.ndarray, np.ndarray]:
    """(frame indices int64 [F], coefficients float32 [F, k]) from the track's first to last frame; a row is
    NaN where the track has no coefficients (not seen, or a person's shape). ValueError when no frame has any."""
    with_coefficients = [f for f in track.frames if f.coefficients is not None]
    if not with_coefficients:
        raise ValueError(f"track {track.track_id} has no frame with model coefficients")
    first = with_coefficients[0].coefficients
    assert first is not None
    k = len(first)
    frames = np.arange(track.first, track.last + 1, dtype=np.int64)
    strip = np.full((len(frames), k), np.nan, np.float32)
    for item in with_coefficients:
        assert item.coefficients is not None
        if len(item.coefficients) != k:
            raise ValueError(
                f"track {track.track_id} has {len(item.coefficients)} coefficients on frame {item.frame}, {k} elsewhere"
            )
        strip[item.frame - track.first] = item.coefficients
    return frames, strip


def mask_on_prototype_grid(mask: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """bool [h, w]: the image mask [H, W] sampled at the centre of each prototype pixel (the prototypes
    cover the whole image at a lower resolution)."""
    height, width = mask.shape
    h, w = grid
    rows = np.minimum(((np.arange(h) + 0.5) * height / h).astype(np.int64), height - 1)
    cols = np.minimum(((np.arange(w) + 0.5) * width / w).astype(np.int64), width - 1)
    return mask[np.ix_(rows, cols)]


def contribution_strip(track: Track, detect: Callable[[int], Detections]) -> tuple[np.ndarray, np.ndarray]:
    """(frame indices [F], float32 [F, k]): per frame, mean |c_j * P_j| over the prototype pixels inside the
    track's mask, for each prototype j (`detect(frame).prototypes` gives P). NaN rows as in
    `coefficient_strip`, and where the mask covers no prototype pixel's centre."""
    frames, coefficients = coefficient_strip(track)
    out = np.full(coefficients.shape, np.nan, np.float32)
    for row, frame in enumerate(frames.tolist()):
        item = track.at(frame)
        if item is None or item.coefficients is None:
            continue
        detections = detect(frame)
        prototypes = np.asarray(detections.prototypes, np.float32)
        mask = BoxMasks.from_shapes([item.shape], detections.image_size).dense(0)
        inside = mask_on_prototype_grid(mask, prototypes.shape[:2])
        if inside.any():
            out[row] = np.abs(prototypes[inside] * item.coefficients[None, :]).mean(axis=0, dtype=np.float64)
    return frames, out
