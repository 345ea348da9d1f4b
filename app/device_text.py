"""The device a model run will really use, in words, for the About box and the training dialog."""

from __future__ import annotations

import torch

from protolabel.segmentation.engine import resolve_device


def device_in_use(device: str) -> str:
    """What `device` ('auto', 'cpu', 'cuda', 'cuda:1') runs on here: 'CUDA: <GPU name> (cuda:0)', 'CPU'
    with why CUDA is not used when 'auto' falls back, or 'unusable: <reason>' (the engine's own check)."""
    try:
        resolved = resolve_device(device or "auto")
    except ValueError as exc:
        return f"unusable: {exc}"
    if resolved.type == "cuda":
        index = torch.cuda.current_device() if resolved.index is None else resolved.index
        return f"CUDA: {torch.cuda.get_device_name(index)} (cuda:{index})"
    if str(device) == "cpu":
        return "CPU"
    why = "this torch build has no CUDA" if torch.version.cuda is None else "no CUDA GPU or driver found"
    return f"CPU ({why})"


def uses_cuda(device: str) -> bool:
    """Whether a run asked for `device` will run on a CUDA GPU here."""
    try:
        return resolve_device(device or "auto").type == "cuda"
    except ValueError:
        return False
