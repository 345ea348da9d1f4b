"""Inference backends for the YOLACT network (torch, ONNX Runtime, OpenVINO); post-processing stays ours.

A backend runs only the network (backbone + FPN + protonet + head): images [B, 3, S, S] in, the same
`YolactOutputs` the torch model gives out. Decoding, NMS, mask assembly and YOLACT++ re-scoring stay
in torch, in `segmentation.engine`, for every backend.
"""

from protolabel.segmentation.backends.base import BACKENDS, PRECISIONS, BackendError, NetworkRunner
from protolabel.segmentation.backends.loading import LoadedNetwork, load_network
from protolabel.segmentation.backends.selection import AUTO_ORDER, choose_backend

__all__ = [
    "AUTO_ORDER",
    "BACKENDS",
    "PRECISIONS",
    "BackendError",
    "LoadedNetwork",
    "NetworkRunner",
    "choose_backend",
    "load_network",
]
