"""A small, hand-made model run whose masks are known: two blobs, a constant prototype, a dead one."""

from __future__ import annotations

import numpy as np
import pytest

from protolabel.segmentation.inspection.cache import NO_OBJECT, InferenceRecord


def blob_record(*, object_ids=(11, NO_OBJECT), frame_size=(60, 80), origin=(0, 0), region=False) -> InferenceRecord:
    """Prototypes 20x20x4: #0 a disc (value 5) on the left, #1 one on the right, #2 constant 5, #3 zero (dead).

    Detection 0 = 0.8*P0 - 0.4*P2 (+2 in the disc, -2 elsewhere) boxed to the left half;
    detection 1 = 0.8*P1 - 0.4*P2 boxed to the right half.
    """
    yy, xx = np.mgrid[0:20, 0:20]
    protos = np.zeros((20, 20, 4), np.float32)
    protos[..., 0] = 5.0 * ((yy - 10) ** 2 + (xx - 5) ** 2 <= 16)
    protos[..., 1] = 5.0 * ((yy - 10) ** 2 + (xx - 15) ** 2 <= 16)
    protos[..., 2] = 5.0
    return InferenceRecord(
        frame_size=frame_size,
        origin=origin,
        prototypes=protos,
        coefficients=np.array([[0.8, 0.0, -0.4, 0.0], [0.0, 0.8, -0.4, 0.0]], np.float32),
        boxes_rel=np.array([[0.0, 0.2, 0.5, 0.8], [0.5, 0.2, 1.0, 0.8]], np.float32),
        classes=np.array([0, 1], np.int64),
        scores=np.array([0.9, 0.7], np.float32),
        object_ids=np.asarray(object_ids, np.int64),
        class_names=("cat", "dog"),
        region=region,
        model="toy.pth",
    )


@pytest.fixture
def record() -> InferenceRecord:
    return blob_record()


@pytest.fixture
def make_record():
    """make_record(object_ids=..., frame_size=..., origin=..., region=...) -> a blob_record."""
    return blob_record
