"""Which backend and precision `--backend auto` runs, and the checks every explicit choice gets."""

from __future__ import annotations

import importlib.util

import torch

from protolabel.segmentation.backends.base import BACKENDS, PRECISIONS, BackendError, has_deformable_convs

# Fastest first among those that meet the fidelity goal (>= 99% of torch fp32's detections found again at
# mask IoU >= 0.98) on the reference fixtures. `benchmarks/inference.py --repeats 5`, yolact_base, 2 CPU
# threads (AMD EPYC, AVX-512 BF16, machine shared), median ratio to a ResNet-101 forward in the same run,
# network / end to end: torch fp32 1.31 / 1.47, torch bf16 0.66 / 0.84, onnxruntime fp32 1.15 / 1.34,
# openvino fp32 1.18 / 1.32, openvino bf16 0.59 / 0.77 (a run under heavy load: 0.90 / 0.88, 0.79 / 0.98,
# 0.53 / 0.63, 0.49 / 0.58, 0.27 / 0.25). OpenVINO and ONNX Runtime fp32 are within noise of each other;
# OpenVINO was ahead end to end in both runs. Both bf16 variants miss the fidelity goal (77-90% matched,
# some among the top 5), so auto never picks them; `--precision bf16` still runs them when asked.
AUTO_ORDER: tuple[tuple[str, str], ...] = (
    ("openvino", "fp32"),
    ("onnxruntime", "fp32"),
    ("torch", "fp32"),
)
_MODULE_FOR = {"onnxruntime": "onnxruntime", "openvino": "openvino"}


def is_installed(backend: str) -> bool:
    module = _MODULE_FOR.get(backend)
    return module is None or importlib.util.find_spec(module) is not None


def choose_backend(
    backend: str, precision: str | None, device: torch.device, config, onnx_input: bool
) -> tuple[str, str]:
    """(backend, precision) to run `config` on `device`: `auto` takes the first of AUTO_ORDER that is
    installed, runs on that device and supports the config (with an asked precision: torch); an explicit
    backend is taken as asked (precision default fp32), its problems reported by the backend itself."""
    if backend not in (*BACKENDS, "auto"):
        raise BackendError(f"unknown backend {backend!r}; use {', '.join(BACKENDS)} or auto")
    if precision is not None and precision not in PRECISIONS:
        raise BackendError(f"unknown precision {precision!r}; use {' or '.join(PRECISIONS)}")
    if backend != "auto":
        if backend == "torch" and onnx_input:
            raise BackendError("an .onnx model runs on --backend onnxruntime or openvino (or auto), not torch")
        return backend, precision or "fp32"
    if device.type == "cuda":
        order = (("onnxruntime", "fp32"),) if onnx_input else (("torch", "fp32"),)
    else:
        order = AUTO_ORDER
    for name, prec in order:
        if (precision is not None and prec != precision) or (onnx_input and name == "torch"):
            continue
        if name == "openvino" and has_deformable_convs(config):
            continue
        if is_installed(name):
            return name, prec
    if onnx_input:
        raise BackendError('an .onnx model needs onnxruntime or openvino; install one: pip install -e ".[onnx]"')
    return "torch", precision or "fp32"
