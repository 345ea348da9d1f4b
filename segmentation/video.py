"""YolactEdge's video path: one sequence of frames, a full network pass on keyframes only.

Frames between keyframes run the backbone up to C3 and warp the latest keyframe's P4/P5 to the current frame
with the flow net (yolactedge spec, sections 3 and 4); their detections are ordinary `Detections`, with
prototypes and coefficients. The keyframe's features live here, in the runner, not in the model: any number
of sequences can run side by side on one engine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, cast

import numpy as np
import torch

from protolabel.segmentation.backends.torch_runner import TorchRunner
from protolabel.segmentation.detections import Detections
from protolabel.segmentation.engine import InferenceSettings, YolactEngine
from protolabel.segmentation.yolact.config import DEFAULT_KEYFRAME_INTERVAL
from protolabel.segmentation.yolact.model import KeyframeState, YolactOutputs


class VideoPathError(ValueError):
    """The engine cannot run the keyframe path (no flow net, or a backend without it); the message says why."""


def check_video_support(engine: YolactEngine) -> None:
    """Refuse, with the reason and the way out, an engine that cannot run non-keyframes."""
    info = engine.info
    if not info.config.video:
        raise VideoPathError(
            f"{Path(info.weights_path).name}: config {info.config.name} has no flow net (the checkpoint holds no "
            "flow_net.* / spa.* tensors), so it cannot carry features between frames; use a YolactEdge video "
            "checkpoint (yolact_edge_vid*) or run every frame in full (keyframe interval 1)"
        )
    if getattr(engine.network, "partial", None) is None:
        raise VideoPathError(
            f"the keyframe path runs on the torch backend only, not on {engine.backend}; "
            "use --backend torch or keyframe interval 1"
        )


class PartialNetwork(Protocol):
    """What runs a non-keyframe: the torch runner itself, or `backends.partial_onnx.OnnxPartialNetwork`."""

    def partial(self, images: torch.Tensor, keyframe: KeyframeState) -> YolactOutputs: ...


def onnx_partial_network(engine: YolactEngine, backend: str) -> PartialNetwork:
    """The engine's non-keyframe network exported to ONNX and run by `backend` (onnxruntime or openvino).

    Made once (the export takes a while) and shared by any number of `SequenceRunner`s of this engine."""
    check_video_support(engine)
    from protolabel.segmentation.backends.partial_onnx import OnnxPartialNetwork

    assert engine.model is not None  # check_video_support: the torch backend
    return OnnxPartialNetwork(engine.model, backend, engine.device)


class SequenceRunner:
    """Detections for the frames of one sequence, in order: a keyframe every `keyframe_interval` frames,
    and whenever the caller asks for one (an edited frame, a scene cut, the first frame after a seek).

    Keyframes fall on frames 0, k, 2k, ... counted from the last keyframe, so without requests this is the
    original's schedule (frame i is a keyframe iff i % k == 0). Interval 1 runs every frame in full, which
    any model can do; larger intervals need a YolactEdge video model on the torch backend. Keyframes run on
    that backend; non-keyframes too, or on `partial_network` when given (`onnx_partial_network`).
    """

    def __init__(
        self,
        engine: YolactEngine,
        keyframe_interval: int = DEFAULT_KEYFRAME_INTERVAL,
        settings: InferenceSettings | None = None,
        partial_network: PartialNetwork | None = None,
    ) -> None:
        if isinstance(keyframe_interval, bool) or not isinstance(keyframe_interval, int) or keyframe_interval < 1:
            raise ValueError(f"keyframe interval must be an integer >= 1, got {keyframe_interval!r}")
        if keyframe_interval > 1:
            check_video_support(engine)
        self.engine = engine
        self.keyframe_interval = keyframe_interval
        self.settings = settings
        self.partial_network = partial_network
        self.frame_index = -1  # of the last frame run
        self.last_was_keyframe = False
        self._keyframe: KeyframeState | None = None
        self._keyframe_index = -1
        self._keyframe_size: tuple[int, int] | None = None
        self._last_frame: int | None = None  # the video frame number `predict_frame` last ran

    def _video_network(self) -> TorchRunner:
        """The torch runner, the one backend with the keyframe path (`check_video_support` made sure)."""
        return cast(TorchRunner, self.engine.network)

    def reset(self) -> None:
        """Start a new sequence: the next frame is frame 0 and a keyframe."""
        self.frame_index = -1
        self._keyframe, self._keyframe_index, self._keyframe_size = None, -1, None
        self._last_frame = None

    def next_is_keyframe(self, image_size: tuple[int, int] | None = None) -> bool:
        """Whether the next frame (of this size, when given) runs the full network."""
        return (
            self._keyframe is None
            or self.keyframe_interval == 1
            or self.frame_index + 1 - self._keyframe_index >= self.keyframe_interval
            or (image_size is not None and tuple(image_size) != self._keyframe_size)
        )

    def predict(self, image: np.ndarray, *, keyframe: bool = False) -> Detections:
        """Detections for the next BGR uint8 frame; `keyframe=True` runs it in full and makes it the new keyframe.

        A frame of another size than the keyframe's is a keyframe too (its features could not be warped)."""
        size = (int(image.shape[0]), int(image.shape[1]))
        full = keyframe or self.next_is_keyframe(size)
        engine = self.engine
        with torch.inference_mode():
            x = engine.transform([image], engine.device)
            if full and self.keyframe_interval == 1:
                out = engine.network(x)
            elif full:
                out, state = self._video_network().keyframe(x)
                self._keyframe, self._keyframe_size = state, size
            else:
                out = (self.partial_network or self._video_network()).partial(x, self._keyframe)
            self.frame_index += 1
            if full:
                self._keyframe_index = self.frame_index
            self.last_was_keyframe = full
            return engine.postprocess(out, [size], self.settings)[0]

    def predict_frame(self, index: int, image: np.ndarray, *, keyframe: bool = False) -> Detections:
        """Detections for frame `index` of the video. A frame that does not follow the last one run (after a
        skipped or unreadable frame, a seek, frames a person already labelled) is a keyframe: features are
        never warped across frames that were not seen."""
        follows = self._last_frame is not None and index == self._last_frame + 1
        detections = self.predict(image, keyframe=keyframe or not follows)
        self._last_frame = index
        return detections
