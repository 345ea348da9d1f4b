"""Shared setup of the backend tests: which extras are installed, and fidelity checks."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

HAS_ORT = importlib.util.find_spec("onnxruntime") is not None
HAS_OPENVINO = importlib.util.find_spec("openvino") is not None
HAS_ONNX = importlib.util.find_spec("onnx") is not None
needs_ort = pytest.mark.skipif(not (HAS_ONNX and HAS_ORT), reason='needs the onnx extra: pip install -e ".[onnx]"')
needs_openvino = pytest.mark.skipif(
    not (HAS_ONNX and HAS_OPENVINO), reason='needs the openvino extra: pip install -e ".[openvino]"'
)


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def match_detections(reference, candidate, iou: float = 0.98) -> list[tuple[int, int]]:
    """(reference index, candidate index) pairs: each reference detection, best first, takes the first
    unmatched same-class candidate whose mask IoU is >= `iou`."""
    free = list(range(len(candidate)))
    pairs = []
    for i in range(len(reference)):
        mask = reference.masks.dense(i)
        for j in free:
            if candidate.classes[j] == reference.classes[i] and mask_iou(mask, candidate.masks.dense(j)) >= iou:
                pairs.append((i, j))
                free.remove(j)
                break
    return pairs
