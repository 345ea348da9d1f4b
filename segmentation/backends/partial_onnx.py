"""YolactEdge's non-keyframe network as an ONNX graph, run by ONNX Runtime or OpenVINO (CPU, fp32).

The graph takes the frame and the keyframe's state (its P4/P5 top-down maps and bare C3 lateral) and gives
what the full network gives. Keyframes stay on the torch model: the state it returns feeds this graph.
The warp is ONNX GridSample, which needs opset 16 or later; the exporter's opset (19) has it.
"""

from __future__ import annotations

import copy
import io
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from protolabel.segmentation.backends.base import BackendError, import_extra
from protolabel.segmentation.backends.onnx_export import OPSET
from protolabel.segmentation.errors import first_line
from protolabel.segmentation.files import atomic_write_bytes
from protolabel.segmentation.yolact.model import KeyframeState, Yolact, YolactOutputs
from protolabel.segmentation.yolact.optimize import fold_batch_norms

PARTIAL_BACKENDS = ("onnxruntime", "openvino")
INPUT_NAMES = ("images", "key_top4", "key_top5", "key_lateral")
OUTPUT_NAMES = ("loc", "conf", "coefficients", "prototypes")
# The warp path's maps (Yolact.forward_partial's trace), extra outputs of a graph exported for checking.
TRACE_NAMES = (
    "lateral_c3",
    "flow_in_cur",
    "flow_in_key",
    "p3_pre",
    *(f"{kind}_{level}" for level in ("p4", "p5") for kind in ("flow", "scale", "bias", "warp", "spa")),
    *(f"warp_{level}_raw" for level in ("p4", "p5")),
    *(f"head_in_p{i}" for i in range(3, 8)),
)


class _PartialGraph(nn.Module):
    """(frame, keyframe T4, T5, lateral) -> the full network's outputs (+ the warp path's maps)."""

    def __init__(self, model: Yolact, traced: bool) -> None:
        super().__init__()
        self.model, self.traced = model, traced

    def forward(
        self, images: torch.Tensor, top4: torch.Tensor, top5: torch.Tensor, lateral: torch.Tensor
    ) -> tuple[torch.Tensor, ...]:
        trace: dict[str, torch.Tensor] = {}
        state = KeyframeState((lateral, top4, top5), lateral)  # T3 is never read by a non-keyframe
        out = self.model.forward_partial(images, state, trace if self.traced else None)
        maps = tuple(trace[name] for name in TRACE_NAMES) if self.traced else ()
        return (out.loc, out.conf, out.coefficients, out.prototypes, *maps)


def export_partial_onnx(model: Yolact, path: Path, traced: bool = False) -> YolactOutputs:
    """Write the non-keyframe graph of a YolactEdge video model (batch 1, its input size) to `path`.

    Returns the outputs of a keyframe of zeros, whose anchors every frame of this size shares."""
    import_extra("onnx")
    model = copy.deepcopy(model).eval().cpu().to(memory_format=torch.contiguous_format)
    fold_batch_norms(model)  # in place; a no-op on the engine's model, whose BatchNorms are folded already
    size = model.config.max_size
    images = torch.zeros(1, 3, size, size)
    with torch.no_grad():
        key_out, state = model.forward_keyframe(images)
    if state is None:
        raise BackendError(f"config {model.config.name} has no keyframe state to export a non-keyframe network for")
    buffer = io.BytesIO()  # written whole, atomically, once the export has succeeded
    outputs = OUTPUT_NAMES + (TRACE_NAMES if traced else ())
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer chatter
        torch.onnx.export(
            _PartialGraph(model, traced),
            (images, state.top_down[1], state.top_down[2], state.lateral),
            buffer,  # type: ignore[arg-type]  # the TorchScript exporter writes to any binary file object
            dynamo=False,
            opset_version=OPSET,
            input_names=list(INPUT_NAMES),
            output_names=list(outputs),
        )
    atomic_write_bytes(path, buffer.getvalue())
    return key_out


class OnnxPartialNetwork:
    """A YolactEdge non-keyframe on ONNX Runtime or OpenVINO; `partial` is called as `TorchRunner.partial`.

    Built from the engine's torch model (exported once, here); the keyframes stay on that model."""

    def __init__(self, model: Yolact, backend: str, device: torch.device, traced: bool = False) -> None:
        if backend not in PARTIAL_BACKENDS:
            raise BackendError(f"the non-keyframe network runs on {' or '.join(PARTIAL_BACKENDS)}, not {backend!r}")
        if not model.config.video:
            raise BackendError(f"config {model.config.name} has no flow net: every frame is a keyframe")
        if device.type != "cpu":
            raise BackendError(f"the {backend} non-keyframe network runs on the CPU here, not {device}")
        self.name, self.device, self.traced = backend, device, traced
        with tempfile.TemporaryDirectory(prefix="protolabel-partial-") as tmp:
            path = Path(tmp) / "partial.onnx"
            self.anchors = export_partial_onnx(model, path, traced).anchors.to(device)
            try:
                self._run = _onnxruntime_call(path) if backend == "onnxruntime" else _openvino_call(path)
            except BackendError:
                raise
            except Exception as exc:  # noqa: BLE001 the runtimes' own kinds, with pages of detail: one line
                raise BackendError(f"{backend} cannot load the non-keyframe network ({first_line(exc)})") from None

    def partial(
        self, images: torch.Tensor, keyframe: KeyframeState, trace: dict[str, torch.Tensor] | None = None
    ) -> YolactOutputs:
        """The non-keyframe's outputs; `trace` receives the warp path's maps when the graph was exported traced."""
        feeds = [images, keyframe.top_down[1], keyframe.top_down[2], keyframe.lateral]
        arrays = [np.ascontiguousarray(t.detach().float().cpu().numpy()) for t in feeds]
        results = [torch.from_numpy(r).to(self.device) for r in self._run(arrays)]
        if trace is not None and self.traced:
            trace.update(zip(TRACE_NAMES, results[len(OUTPUT_NAMES) :]))
        loc, conf, coefficients, prototypes = results[: len(OUTPUT_NAMES)]
        return YolactOutputs(loc, conf, coefficients, prototypes, self.anchors, None)


def _onnxruntime_call(path: Path) -> Any:
    """A function running the graph in an ONNX Runtime CPU session with torch's thread budget."""
    ort = import_extra("onnxruntime")
    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    options.log_severity_level = 3
    # Torch runs the keyframes and the post-processing between these calls: idle ONNX Runtime threads
    # must not spin on the cores torch needs.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]

    def run(arrays: list[np.ndarray]) -> list[np.ndarray]:
        return list(session.run(names, dict(zip(INPUT_NAMES, arrays))))

    return run


def _openvino_call(path: Path) -> Any:
    """A function running the graph compiled by OpenVINO for the CPU, f32, with torch's thread budget."""
    from protolabel.segmentation.backends.openvino_runner import shared_core

    ov = import_extra("openvino")
    compiled = shared_core(ov).compile_model(
        str(path),
        "CPU",
        {
            "INFERENCE_PRECISION_HINT": "f32",
            "INFERENCE_NUM_THREADS": torch.get_num_threads(),
            "PERFORMANCE_HINT": "LATENCY",
        },
    )
    count = len(compiled.outputs)

    def run(arrays: list[np.ndarray]) -> list[np.ndarray]:
        request = compiled.create_infer_request()
        request.infer(dict(enumerate(arrays)))
        return [request.get_output_tensor(i).data.copy() for i in range(count)]

    return run
