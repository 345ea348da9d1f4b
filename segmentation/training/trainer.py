"""Fine-tuning YOLACT on a COCO dataset: `train(options, progress, should_stop)`.

One call runs a whole training: read and split the data, build the model from the start
checkpoint (class layers adapted, see `transfer`), then SGD (momentum 0.9, weight decay
5e-4) with warm-up and steps, frozen batch norm, AMP on CUDA; checkpoints in the official
layout, evaluation with pycocotools at intervals and at the end (RUN_DIR/metrics.json).
`progress` receives the events of `segmentation.training.progress`; `should_stop` is polled
every iteration and a stopped run saves a checkpoint it can be resumed from
(`TrainOptions.resume`). Batch norm stays frozen (running statistics and affine parameters
of the start checkpoint), the usual choice when fine-tuning with small batches.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader

from protolabel.segmentation.engine import resolve_device
from protolabel.segmentation.files import atomic_write_text
from protolabel.segmentation.output_paths import (
    OutputPathError,
    OutputWriteError,
    check_output_dir,
    write_with_fallback,
)
from protolabel.segmentation.training.augment import TrainAugmentation
from protolabel.segmentation.training.batches import BatchOrder, IterationBatches
from protolabel.segmentation.training.checkpoints import (
    ResumeError,
    TrainingState,
    checkpoint_name,
    has_training_state,
    load_training_state,
    remove_checkpoint,
    save_checkpoint,
    save_training_state,
)
from protolabel.segmentation.training.dataset import DatasetError, TrainingImages, split_for_validation
from protolabel.segmentation.training.evaluate import Evaluation, evaluate
from protolabel.segmentation.training.losses import LossSettings, YolactLoss
from protolabel.segmentation.training.options import TrainOptions
from protolabel.segmentation.training.progress import (
    CheckpointSaved,
    EvaluationDone,
    IterationDone,
    Note,
    ProgressEvent,
    RunFinished,
    RunStarted,
)
from protolabel.segmentation.training.schedule import LearningRateSchedule
from protolabel.segmentation.training.transfer import prepare_model
from protolabel.segmentation.yolact.checkpoint import CheckpointError, ModelInfo, load_yolact
from protolabel.segmentation.yolact.config import MAX_MAX_SIZE, MIN_MAX_SIZE
from protolabel.segmentation.yolact.model import Yolact
from protolabel.segmentation.yolact.transform import YolactTransform

METRICS_FILE = "metrics.json"


class TrainingError(Exception):
    """Training cannot start or go on; the message says why (bad options, data, or run folder)."""


@dataclass(frozen=True)
class TrainResult:
    checkpoint: Path
    iteration: int
    stopped: bool
    metrics_path: Path | None
    evaluation: Evaluation | None


def set_training_mode(model: nn.Module) -> None:
    """Train mode with every BatchNorm frozen: running statistics used, affine parameters not trained."""
    model.train()
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.eval()
            for param in module.parameters():
                param.requires_grad_(False)


def train(
    options: TrainOptions,
    progress: Callable[[ProgressEvent], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainResult:
    """Run (or resume) a fine-tune as described by `options`; raises TrainingError for unusable input."""
    try:
        return _Run(options, progress or (lambda event: None), should_stop or (lambda: False)).run()
    except (DatasetError, ResumeError, OutputPathError, OutputWriteError) as exc:
        raise TrainingError(str(exc)) from None


class _Run:
    def __init__(
        self, options: TrainOptions, emit: Callable[[ProgressEvent], None], should_stop: Callable[[], bool]
    ) -> None:
        _check_options(options)
        self.options = options
        self.emit = emit
        self.should_stop = should_stop
        try:
            self.device = resolve_device(options.device)
        except ValueError as exc:
            raise TrainingError(str(exc)) from None
        self.run_dir = Path(options.out)
        self.use_amp = options.amp and self.device.type == "cuda"
        self.evaluations: list[dict] = []
        self.written: Path | None = None  # the checkpoint this run wrote last (the only one it may delete)
        self.written_at = -1  # its iteration

    # ------------------------------------------------------------------ setup

    def run(self) -> TrainResult:
        options = self.options
        inputs = [p for p in (options.coco, options.val_coco, options.weights) if p is not None]
        check_output_dir(self.run_dir, inputs=inputs, what="run folder (--out)")
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TrainingError(f"{self.run_dir}: cannot create the run folder ({exc.strerror or exc})") from None
        if not options.resume and has_training_state(self.run_dir):
            raise TrainingError(
                f"{self.run_dir} already holds a training run; resume it (--resume) or choose another output folder"
            )
        train_images, val_images = self._data()
        trainable = train_images.trainable_indices()  # DatasetError (crowd objects named) when there is none
        if len(trainable) < len(train_images):
            self.emit(Note(f"{len(train_images) - len(trainable)} training image(s) without objects are not used"))
        model, info, start, state = self._model(train_images)
        self.model, self.info, self.class_names = model, info, train_images.class_names
        self.order = BatchOrder(trainable, options.batch_size, options.seed)
        model.to(self.device)
        set_training_mode(model)
        self.parameters = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.SGD(
            self.parameters, lr=options.lr, momentum=options.momentum, weight_decay=options.weight_decay
        )
        scaler = torch.amp.GradScaler(self.device.type, enabled=self.use_amp)
        if state is not None:
            optimizer.load_state_dict(state.optimizer)
            if state.scaler and self.use_amp:
                scaler.load_state_dict(state.scaler)
            self.written, self.written_at = self.run_dir / state.checkpoint, start
            self._load_metrics(start)
        self.optimizer, self.scaler = optimizer, scaler
        self.emit(
            RunStarted(
                options.iterations,
                start,
                len(trainable),
                len(val_images or ()),
                tuple(self.class_names),
                info.config.name,
                str(self.device),
            )
        )
        iteration, stopped = self._loop(train_images, val_images, start)
        return self._finish(val_images, iteration, stopped)

    def _data(self) -> tuple[TrainingImages, TrainingImages | None]:
        options = self.options
        images = TrainingImages.from_file(options.coco, options.images, crowd_as_objects=options.crowd_as_objects)
        if options.val_coco is not None:
            train_part, val_part = (
                images,
                TrainingImages.from_file(
                    options.val_coco,
                    options.val_images or options.images,
                    images.class_names,
                    crowd_as_objects=options.crowd_as_objects,
                ),
            )
        elif options.val_split > 0:
            train_part, val_part = split_for_validation(images, options.val_split, options.seed)
            n = len(images)
            if len(val_part) == 0:  # the first note: a run that reports no AP says why
                first = math.ceil(1 / options.val_split - 1e-9)  # the fewest images of which the split holds one out
                self.emit(
                    Note(
                        f"no validation images: --val-split {options.val_split:g} of {n} image(s) rounds down "
                        f"to none (one is held out from {first} images on); all {n} train, no AP is reported"
                    )
                )
            else:
                self.emit(
                    Note(
                        f"{len(val_part)} of {n} images held out for validation (--val-split "
                        f"{options.val_split:g}); {len(train_part)} train"
                    )
                )
        else:
            train_part, val_part = images, None
        for note in images.import_notes:
            self.emit(Note(f"{options.coco}: {note}"))
        return train_part, (val_part if val_part is not None and len(val_part) else None)

    def _model(self, images: TrainingImages) -> tuple[Yolact, ModelInfo, int, TrainingState | None]:
        options = self.options
        if not options.resume:
            try:
                model, info, report = prepare_model(
                    options.weights,
                    images.class_names,
                    config_name=options.config,
                    max_size=options.max_size,
                    seed=options.seed,
                )
            except (CheckpointError, ValueError) as exc:
                raise TrainingError(str(exc)) from None
            self.emit(Note(f"{Path(options.weights).name}: {report.describe()}"))
            return model, info, 0, None
        state = load_training_state(self.run_dir)
        if state.class_names != images.class_names:
            raise TrainingError(
                f"{self.run_dir}: the run trains classes {list(state.class_names)}, the data has "
                f"{list(images.class_names)}"
            )
        try:
            model, info = load_yolact(self.run_dir / state.checkpoint)
        except CheckpointError as exc:
            raise TrainingError(str(exc)) from None
        if options.max_size is not None and options.max_size != info.config.max_size:
            raise TrainingError(
                f"{self.run_dir}: the run trains at --max-size {info.config.max_size}, not {options.max_size}"
            )
        self.emit(Note(f"resuming {state.checkpoint} after {state.iteration} iterations"))
        return model, replace(info, class_names=images.class_names), state.iteration, state

    # ------------------------------------------------------------------ training

    def _loop(self, train_images: TrainingImages, val_images: TrainingImages | None, start: int) -> tuple[int, bool]:
        options, model = self.options, self.model
        config = self.info.config
        schedule = LearningRateSchedule.for_run(
            options.lr, options.iterations, options.warmup_iterations, options.lr_steps
        )
        loss_fn = YolactLoss(LossSettings(), model.maskiou_net if config.use_maskiou else None)
        transform = YolactTransform(config.max_size, imagenet_normalize=config.backbone != "darknet53")
        batches = IterationBatches(
            train_images,
            self.order,
            TrainAugmentation(config.max_size, options.augment),
            transform,
            start,
            options.iterations,
            options.seed,
        )
        loader = DataLoader(
            batches, batch_size=None, shuffle=False, num_workers=options.workers, pin_memory=self.device.type == "cuda"
        )
        seconds_per_iteration: float | None = None
        iteration = start
        tick = time.perf_counter()
        for batch in loader:
            if self.should_stop():
                return iteration, True
            lr = schedule(iteration)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            losses = self._step(batch.to(self.device), loss_fn, iteration)
            iteration += 1
            now = time.perf_counter()
            elapsed, tick = now - tick, now
            seconds_per_iteration = (
                elapsed if seconds_per_iteration is None else (0.9 * seconds_per_iteration + 0.1 * elapsed)
            )
            if losses is None:
                self.emit(Note(f"iteration {iteration}: the loss is not finite; the step was skipped"))
            elif iteration % options.log_every == 0 or iteration in (start + 1, options.iterations):
                self.emit(
                    IterationDone(
                        iteration,
                        options.iterations,
                        self.order.epoch_of(iteration - 1),
                        losses,
                        lr,
                        options.batch_size / max(seconds_per_iteration, 1e-9),
                        (options.iterations - iteration) * seconds_per_iteration,
                    )
                )
            if iteration < options.iterations:
                if options.checkpoint_every and iteration % options.checkpoint_every == 0:
                    self._checkpoint(iteration)
                if options.eval_every and iteration % options.eval_every == 0 and val_images is not None:
                    self._evaluate(val_images, iteration)
                tick = time.perf_counter()  # saving and evaluating do not count as iteration time
        return iteration, False

    def _step(self, batch, loss_fn: YolactLoss, iteration: int) -> dict[str, float] | None:
        """One SGD step; returns the loss terms, or None when the loss was not finite (step skipped)."""
        with torch.autocast(self.device.type, enabled=self.use_amp):
            outputs = self.model(batch.images)
        generator = torch.Generator().manual_seed(self.options.seed * 1_000_003 + iteration)
        losses = loss_fn(outputs, batch.targets, generator)  # float32, outside autocast
        total = sum(losses.values())
        finite = bool(torch.isfinite(total))
        if finite:
            self.scaler.scale(total).backward()
            if self.options.clip_grad_norm:
                self.scaler.unscale_(self.optimizer)
                torch.nn.utils.clip_grad_norm_(self.parameters, self.options.clip_grad_norm)
            self.scaler.step(self.optimizer)
            self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        return {name: float(value.detach()) for name, value in losses.items()} if finite else None

    # ------------------------------------------------------------------ outputs

    def _checkpoint(self, iteration: int) -> Path:
        """Save weights and training state; when the run folder cannot take them (full disk,
        read-only), save a resumable copy of the run in a fallback folder and stop with a TrainingError
        saying where (the run folder keeps its previous checkpoint)."""
        name = checkpoint_name(self.info.config, self.order.epoch_of(max(iteration - 1, 0)), iteration)
        state = TrainingState(
            iteration,
            name,
            self.info.config.name,
            tuple(self.class_names),
            self.optimizer.state_dict(),
            self.scaler.state_dict() if self.use_amp else {},
        )

        def save(folder: Path) -> Path:
            folder.mkdir(parents=True, exist_ok=True)
            weights = save_checkpoint(self.model, self.class_names, folder / name)
            try:
                save_training_state(folder, state)
            except OSError:
                if weights != self.written:  # no weights left behind that no state names
                    remove_checkpoint(weights)
                raise
            return weights

        written = write_with_fallback(self.run_dir, save)
        if written.fell_back:
            raise TrainingError(
                f"{written.note()}; it is a resumable run: free space and continue it with "
                f"--out {written.path} --resume"
            )
        path = written.value
        if self.written is not None and self.written != path:
            remove_checkpoint(self.written)
        self.written, self.written_at = path, iteration
        self.emit(CheckpointSaved(iteration, path))
        return path

    def _evaluate(self, val_images: TrainingImages, iteration: int) -> Evaluation | None:
        result = evaluate(self.model, self.info, val_images, self.device, should_stop=self.should_stop)
        set_training_mode(self.model)
        if result is None:
            return None
        self.evaluations = [e for e in self.evaluations if e["iteration"] != iteration]
        self.evaluations.append({"iteration": iteration, **result.as_dict()})
        self._write_metrics()
        self.emit(EvaluationDone(iteration, result))
        return result

    def _finish(self, val_images: TrainingImages | None, iteration: int, stopped: bool) -> TrainResult:
        checkpoint = self.written if self.written_at == iteration else self._checkpoint(iteration)
        evaluation = None
        if val_images is not None and not stopped:
            evaluation = self._evaluate(val_images, iteration)
        metrics = self.run_dir / METRICS_FILE if self.evaluations else None
        self.emit(RunFinished(iteration, checkpoint, metrics, stopped))
        return TrainResult(checkpoint, iteration, stopped, metrics, evaluation)

    def _write_metrics(self) -> None:
        final = self.evaluations[-1] if self.evaluations else None
        data = {
            "config": self.info.config.name,
            "class_names": list(self.class_names),
            "iterations": self.options.iterations,
            "evaluations": self.evaluations,
            "final": final if final is not None and final["iteration"] == self.options.iterations else None,
        }
        text = json.dumps(data, indent=1) + "\n"
        written = write_with_fallback(self.run_dir / METRICS_FILE, lambda path: atomic_write_text(path, text))
        if written.fell_back:
            self.emit(Note(written.note()))

    def _load_metrics(self, start: int) -> None:
        path = self.run_dir / METRICS_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            self.evaluations = [e for e in data.get("evaluations", []) if e.get("iteration", math.inf) <= start]
        except (OSError, ValueError, AttributeError):
            self.evaluations = []


def _check_options(options: TrainOptions) -> None:
    problems = []
    if options.iterations < 1:
        problems.append(f"--iterations must be at least 1, got {options.iterations}")
    if options.batch_size < 1:
        problems.append(f"--batch-size must be at least 1, got {options.batch_size}")
    if not options.lr > 0:
        problems.append(f"--lr must be positive, got {options.lr}")
    if not 0 <= options.val_split < 1:
        problems.append(f"--val-split must be in [0, 1), got {options.val_split}")
    if any(not 0 < f < 1 for f in options.lr_steps):
        problems.append(f"--lr-steps must be fractions of the run between 0 and 1, got {list(options.lr_steps)}")
    if options.log_every < 1:
        problems.append(f"--log-every must be at least 1, got {options.log_every}")
    if options.max_size is not None and not MIN_MAX_SIZE <= options.max_size <= MAX_MAX_SIZE:
        problems.append(f"--max-size must be from {MIN_MAX_SIZE} to {MAX_MAX_SIZE}, got {options.max_size}")
    if options.clip_grad_norm is not None and not options.clip_grad_norm > 0:
        problems.append(f"--clip-grad must be positive, got {options.clip_grad_norm}")
    if options.workers < 0:
        problems.append(f"--workers must be >= 0, got {options.workers}")
    if problems:
        raise TrainingError("; ".join(problems))
