"""Tracks from the real engine's detections (a synthetic checkpoint): the tracker and propagation take what
the engine gives, not only hand-built detections."""

from __future__ import annotations

import numpy as np
import pytest

from protolabel.segmentation.engine import InferenceSettings
from protolabel.segmentation.tracking.association import track_video
from protolabel.segmentation.tracking.edits import correct
from protolabel.segmentation.tracking.propagation import propagate

pytestmark = pytest.mark.slow


def test_engine_detections_track_and_propagate(resnet50_engine, astronaut_bgr):
    # the same crop shifted 4 px a frame: a camera pan
    frames = [np.ascontiguousarray(astronaut_bgr[100:228, 100 + 4 * t : 228 + 4 * t]) for t in range(3)]
    settings = InferenceSettings(top_k=5)
    detections = resnet50_engine.predict(frames, settings)
    tracks = track_video(detections)
    assert tracks.image_size == (128, 128)
    assert sum(t.length for t in tracks.tracks) == sum(
        sum(not detections[i].masks.to_shape(j).is_empty() for j in range(len(detections[i]))) for i in range(3)
    )
    track = max(tracks.tracks, key=lambda t: t.length)
    tracks = correct(tracks, track.track_id, track.first, track.frames[0].shape).apply(tracks)
    result = propagate(tracks, track.track_id, track.first, lambda i: detections[i], 3)
    assert set(result.updated) | set(result.cleared) <= {0, 1, 2} - {track.first}
