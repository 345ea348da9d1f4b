"""Fine-tuning YOLACT on corrected annotations (Qt-free).

`train(TrainOptions(...), progress, should_stop)` runs a whole fine-tune (see `trainer`);
`protolabel train` is its command line, whose output lines `progress.parse_line` reads.
The training names load on first use, so that reading progress lines needs no torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["TrainOptions", "TrainResult", "TrainingError", "train"]

if TYPE_CHECKING:
    from protolabel.segmentation.training.options import TrainOptions
    from protolabel.segmentation.training.trainer import TrainingError, TrainResult, train


def __getattr__(name: str) -> Any:
    if name == "TrainOptions":  # no torch: the command line reads its defaults
        from protolabel.segmentation.training.options import TrainOptions

        return TrainOptions
    if name in __all__:
        from protolabel.segmentation.training import trainer

        return getattr(trainer, name)
    raise AttributeError(f"module 'protolabel.segmentation.training' has no attribute {name!r}")
