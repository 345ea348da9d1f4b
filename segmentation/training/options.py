"""What a fine-tune is asked to do: `TrainOptions`, with the defaults `protolabel train` shows (no torch here,
so the command line reads them without loading the trainer)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from protolabel.segmentation.training.schedule import STEP_FRACTIONS

# Not in the original. Fresh class layers on top of features they were not trained with can
# produce gradients in the thousands in the first iterations and blow the weights up; clipping
# the gradient norm keeps those steps bounded.
CLIP_GRAD_NORM = 10.0


@dataclass(frozen=True)
class TrainOptions:
    coco: Path  # training annotations (COCO instance segmentation)
    images: Path  # folder the COCO file names are relative to
    weights: Path  # start checkpoint (official layout); on resume the run's own checkpoint is used
    out: Path  # run folder: checkpoints, training state, metrics.json
    val_coco: Path | None = None  # separate validation annotations; else `val_split` of the training images
    val_images: Path | None = None  # default: `images`
    val_split: float = 0.1
    config: str | None = None  # default: from the start checkpoint
    max_size: int | None = None  # default: the config's
    iterations: int = 5000
    batch_size: int = 8
    lr: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 5e-4
    warmup_iterations: int | None = None  # default: 10% of the run, at most 500
    lr_steps: tuple[float, ...] = STEP_FRACTIONS  # fractions of the run where the rate drops 10x
    clip_grad_norm: float | None = CLIP_GRAD_NORM  # None: no clipping (as the original)
    device: str = "auto"
    amp: bool = True  # mixed precision, CUDA only
    checkpoint_every: int = 1000  # 0: only at the end
    eval_every: int = 0  # 0: only at the end
    log_every: int = 10
    workers: int = 0  # data loader processes
    augment: bool = True
    resume: bool = False
    seed: int = 0
    crowd_as_objects: bool = False  # train on iscrowd=1 objects as ordinary objects (CVAT-style exports)
