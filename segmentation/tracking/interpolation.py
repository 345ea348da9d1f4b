"""Shapes between two person-made frames of a track by arc-length interpolation of their outlines.

Both outlines are resampled to the same number of points evenly spaced along their length, turned the
same way round, and started at the points that match best; each frame between gets the linear blend.
It suits an object that moves and deforms smoothly; for anything else re-detection (propagation) is the
better choice, so this is an option, not the default.
"""

from __future__ import annotations

import numpy as np

from protolabel.segmentation.geometry.measures import signed_ring_area
from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.geometry.shapes import Polygon, Shape
from protolabel.segmentation.tracking.edits import TrackEdit
from protolabel.segmentation.tracking.tracks import TrackFrame, TrackSet

__all__ = ["align_rings", "interpolate_shapes", "interpolate_track", "resample_ring"]

DEFAULT_POINTS = 64  # outline points of an interpolated shape


def resample_ring(ring: np.ndarray, points: int) -> np.ndarray:
    """float64 [points, 2]: points evenly spaced by arc length along the closed ring, from its first vertex."""
    ring = np.asarray(ring, np.float64).reshape(-1, 2)
    if len(ring) < 3 or points < 3:
        raise ValueError(f"a ring of {len(ring)} vertices cannot be resampled to {points} points (3 or more each)")
    closed = np.vstack([ring, ring[:1]])
    steps = np.linalg.norm(np.diff(closed, axis=0), axis=1)
    along = np.concatenate([[0.0], np.cumsum(steps)])
    if along[-1] <= 0:
        raise ValueError("a ring of zero length cannot be resampled")
    targets = np.arange(points) * along[-1] / points
    return np.column_stack([np.interp(targets, along, closed[:, 0]), np.interp(targets, along, closed[:, 1])])


def align_rings(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`b` (same number of points as `a`) turned the way `a` turns and started at its best-matching point."""
    if (signed_ring_area(a) > 0) != (signed_ring_area(b) > 0):
        b = b[::-1]
    shifts = np.stack([np.roll(b, -s, axis=0) for s in range(len(b))])
    cost = ((shifts - a[None]) ** 2).sum(axis=(1, 2))
    return shifts[int(np.argmin(cost))]


def _single_ring(shape: Shape, name: str) -> np.ndarray:
    parts = [p for p in shape.polygons if len(p.exterior) >= 3]
    if len(parts) != 1 or parts[0].holes:
        has = "no outline" if not parts else "1 part" if len(parts) == 1 else f"{len(parts)} parts"
        raise ValueError(
            f"interpolation needs one outline without holes on both frames; the {name} shape has "
            f"{has}{' with holes' if shape.has_holes else ''}: propagate it instead"
        )
    return parts[0].exterior


def _aligned(a: Shape, b: Shape, points: int, names: tuple[str, str]) -> tuple[np.ndarray, np.ndarray]:
    ring_a = resample_ring(_single_ring(a, names[0]), points)
    return ring_a, align_rings(ring_a, resample_ring(_single_ring(b, names[1]), points))


def interpolate_shapes(a: Shape, b: Shape, t: float, points: int = DEFAULT_POINTS) -> Shape:
    """The shape a fraction `t` (0 = a, 1 = b) of the way from `a` to `b`, each one outline without holes."""
    ring_a, ring_b = _aligned(a, b, points, ("first", "second"))
    return Shape((Polygon((1.0 - t) * ring_a + t * ring_b),))


def interpolate_track(tracks: TrackSet, track_id: int, start: int, end: int, points: int = DEFAULT_POINTS) -> TrackEdit:
    """The frames strictly between two person-made frames of a track filled by interpolation (as model-made
    shapes, which a later correction or propagation may replace); a person-made frame between is an error."""
    track = tracks.get(track_id)
    first, last = track.at(start), track.at(end)
    if first is None or last is None or not first.person_made or not last.person_made:
        raise ValueError(f"track {track_id} needs a person's shape on frames {start} and {end} to interpolate")
    if end - start < 2:
        raise ValueError(f"no frames between {start} and {end} to interpolate")
    between = [f for f in track.person_frames if start < f < end]
    if between:
        where = f"frame {between[0]}" if len(between) == 1 else f"frames {', '.join(map(str, between))}"
        raise ValueError(f"track {track_id} has a person's shape on {where} between {start} and {end}")
    ring_a, ring_b = _aligned(first.shape, last.shape, points, (f"frame {start}", f"frame {end}"))
    frames = [f for f in track.frames if not start < f.frame < end]
    for index in range(start + 1, end):
        t = (index - start) / (end - start)
        shape = Shape((Polygon((1.0 - t) * ring_a + t * ring_b),))
        frames.append(TrackFrame(index, shape, provenance=Provenance.AUTO.value))
    new = track.with_frames(frames)
    return TrackEdit(f"Interpolate track {track_id} from frame {start} to {end}", (track,), (new,))
