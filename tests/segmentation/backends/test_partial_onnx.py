"""YolactEdge's non-keyframe network exported to ONNX (GridSample, opset 16+) and run by ONNX Runtime and
OpenVINO: the same outputs and warp-path maps as torch within the spec's tolerances, inside a sequence.

A small input size (160) keeps the exports fast; test_yolactedge_fixtures.py grades the onnxruntime path
against the original's outputs on the fixture clip at the released size.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from protolabel.segmentation.backends.base import BackendError
from protolabel.segmentation.backends.partial_onnx import TRACE_NAMES, OnnxPartialNetwork
from protolabel.segmentation.engine import YolactEngine
from protolabel.segmentation.video import SequenceRunner, VideoPathError, onnx_partial_network
from tests.conftest import fixture_path, make_checkpoint
from tests.segmentation.backends.conftest import needs_openvino, needs_ort


@pytest.fixture(scope="module")
def engine() -> YolactEngine:
    return YolactEngine(make_checkpoint("yolact_edge_vid_resnet50_im160", 0), device="cpu")


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    clip = fixture_path("yolactedge", "clip_A")
    return [
        cv2.resize(cv2.imread(str(clip / f"frame_{i:03d}.png")), (160, 120), interpolation=cv2.INTER_AREA)
        for i in range(4)
    ]


def _f32_close(ours: torch.Tensor, ref: torch.Tensor, what: str) -> None:
    """The spec's tolerance for f32 arrays (loc, conf, coefficients, flows): |d| <= 1e-3 + 1e-3 |ref|."""
    ours64, ref64 = ours.double(), ref.double()
    excess = (ours64 - ref64).abs() - (1e-3 + 1e-3 * ref64.abs())
    assert float(excess.max()) <= 0, f"{what}: off by up to {float((ours64 - ref64).abs().max()):.3g}"


def _map_close(ours: torch.Tensor, ref: torch.Tensor, what: str) -> None:
    """The spec's tolerance for feature maps: |d| <= 2e-3 |ref| + 1e-4 absmax(map)."""
    excess = (ours - ref).abs() - (2e-3 * ref.abs() + 1e-4 * float(ref.abs().max()))
    assert float(excess.max()) <= 0, f"{what}: off by up to {float((ours - ref).abs().max()):.3g}"


@pytest.fixture(
    scope="module",
    params=[pytest.param("onnxruntime", marks=needs_ort), pytest.param("openvino", marks=needs_openvino)],
)
def exported(request, engine) -> OnnxPartialNetwork:
    """The engine's non-keyframe network on each backend, exported once (it takes a while) for the tests here."""
    return OnnxPartialNetwork(engine.model, request.param, engine.device, traced=True)


def test_non_keyframe_outputs_and_maps_match_torch(exported, engine, frames):
    network = exported
    with torch.inference_mode():
        _, state = engine.network.keyframe(engine.transform([frames[0]], engine.device))
        for frame in frames[1:]:
            x = engine.transform([frame], engine.device)
            ours_trace: dict[str, torch.Tensor] = {}
            theirs_trace: dict[str, torch.Tensor] = {}
            ours = network.partial(x, state, ours_trace)
            theirs = engine.network.partial(x, state, theirs_trace)
            _f32_close(ours.loc, theirs.loc, "loc")
            _f32_close(torch.softmax(ours.conf, -1), torch.softmax(theirs.conf, -1), "conf")
            _f32_close(ours.coefficients, theirs.coefficients, "coefficients")
            _map_close(ours.prototypes, theirs.prototypes, "prototypes")
            assert torch.equal(ours.anchors, theirs.anchors)
            assert set(ours_trace) == set(TRACE_NAMES) and set(theirs_trace) == set(TRACE_NAMES)
            for name in TRACE_NAMES:
                close = _f32_close if name.startswith("flow_p") else _map_close
                close(ours_trace[name], theirs_trace[name], name)


def test_a_sequence_runs_its_non_keyframes_on_the_exported_network(exported, engine, frames):
    """Keyframes stay on torch; non-keyframes go through the given network; the detections are torch's."""
    calls = []

    class Counting:
        def partial(self, images, keyframe):
            calls.append(1)
            return exported.partial(images, keyframe)

    on_onnx = SequenceRunner(engine, keyframe_interval=3, partial_network=Counting())
    on_torch = SequenceRunner(engine, keyframe_interval=3)
    for i, frame in enumerate(frames):
        ours, theirs = on_onnx.predict(frame), on_torch.predict(frame)
        assert on_onnx.last_was_keyframe == (i % 3 == 0)
        assert len(ours) == len(theirs) > 0
        np.testing.assert_allclose(ours.scores, theirs.scores, atol=1e-3)
        np.testing.assert_allclose(ours.boxes_rel[:10], theirs.boxes_rel[:10], atol=1e-3)
    assert len(calls) == 2  # frames 1 and 2


def test_the_factory_exports_the_engine_s_own_model(engine, monkeypatch):
    from protolabel.segmentation.backends import partial_onnx

    made = []
    monkeypatch.setattr(partial_onnx, "OnnxPartialNetwork", lambda *args: made.append(args) or "network")
    assert onnx_partial_network(engine, "openvino") == "network"
    assert made == [(engine.model, "openvino", engine.device)]


def test_an_image_model_has_no_non_keyframe_network_to_export():
    engine = YolactEngine(make_checkpoint("yolact_edge_resnet50_im160", 0), device="cpu")
    with pytest.raises(VideoPathError, match="has no flow net"):
        onnx_partial_network(engine, "onnxruntime")
    with pytest.raises(BackendError, match="config yolact_edge_resnet50_im160 has no flow net"):
        OnnxPartialNetwork(engine.model, "onnxruntime", engine.device)


@pytest.mark.parametrize(
    "backend,device,message",
    [
        ("tensorrt", "cpu", "runs on onnxruntime or openvino, not 'tensorrt'"),
        ("onnxruntime", "cuda", "runs on the CPU here, not cuda"),
    ],
)
def test_an_unsupported_backend_or_device_is_refused_before_exporting(engine, backend, device, message):
    with pytest.raises(BackendError, match=message):
        OnnxPartialNetwork(engine.model, backend, torch.device(device))
