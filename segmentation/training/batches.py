"""Turning training images into batches: a reproducible order and per-sample augmentation seeds.

The image order of epoch e is a permutation drawn from (seed, e), and the augmentation of
the j-th image of iteration i uses its own generator seeded with (seed, i, j). A run resumed
at iteration i therefore sees exactly the batches it would have seen without stopping,
whichever number of loader workers prepares them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from protolabel.segmentation.training.augment import TrainAugmentation, TrainSample
from protolabel.segmentation.training.dataset import TrainingImages
from protolabel.segmentation.training.losses import ImageTargets
from protolabel.segmentation.yolact.transform import YolactTransform


@dataclass
class TrainBatch:
    images: torch.Tensor  # [B, 3, S, S] normalised RGB, exactly as inference prepares images
    targets: list[ImageTargets]

    def to(self, device: torch.device) -> TrainBatch:
        return TrainBatch(self.images.to(device, non_blocking=True), [t.to(device) for t in self.targets])

    def pin_memory(self) -> TrainBatch:
        """Page-locked copies, so that the copy to the GPU can overlap (called by the DataLoader)."""
        return TrainBatch(
            self.images.pin_memory(),
            [
                ImageTargets(*(x.pin_memory() for x in (t.boxes, t.labels, t.masks, t.crowd_boxes)))
                for t in self.targets
            ],
        )


class BatchOrder:
    """Which images (indices into the training images) make up the batch of each iteration."""

    def __init__(self, trainable: list[int], batch_size: int, seed: int) -> None:
        if not trainable:
            raise ValueError("no training image has an object to learn from")
        self.trainable = trainable
        self.batch_size = batch_size
        self.seed = seed
        self._epoch_cache: dict[int, np.ndarray] = {}

    def epoch_of(self, iteration: int) -> int:
        return iteration * self.batch_size // len(self.trainable)

    def _order(self, epoch: int) -> np.ndarray:
        if epoch not in self._epoch_cache:
            self._epoch_cache = {epoch: np.random.default_rng([self.seed, epoch]).permutation(len(self.trainable))}
        return self._epoch_cache[epoch]

    def batch(self, iteration: int) -> list[int]:
        n = len(self.trainable)
        out = []
        for j in range(self.batch_size):
            position = iteration * self.batch_size + j
            out.append(self.trainable[int(self._order(position // n)[position % n])])
        return out


def collate(samples: list[TrainSample], transform: YolactTransform) -> TrainBatch:
    """Stack augmented samples; the images get the inference normalisation (mean/std, BGR -> RGB)."""
    images = transform([s.image for s in samples])
    targets = [
        ImageTargets(
            torch.from_numpy(s.boxes),
            torch.from_numpy(s.labels),
            torch.from_numpy(s.masks),
            torch.from_numpy(s.crowd_boxes),
        )
        for s in samples
    ]
    return TrainBatch(images, targets)


class IterationBatches(Dataset):
    """Item k is the batch of iteration `start + k` (for a DataLoader with batch_size=None)."""

    def __init__(
        self,
        images: TrainingImages,
        order: BatchOrder,
        augmentation: TrainAugmentation,
        transform: YolactTransform,
        start: int,
        stop: int,
        seed: int,
    ) -> None:
        self.images = images
        self.order = order
        self.augmentation = augmentation
        self.transform = transform
        self.start = start
        self.stop = stop
        self.seed = seed

    def __len__(self) -> int:
        return max(0, self.stop - self.start)

    def __getitem__(self, k: int) -> TrainBatch:
        iteration = self.start + k
        samples = []
        for j, index in enumerate(self.order.batch(iteration)):
            rng = np.random.default_rng([self.seed, iteration, j])
            samples.append(self.augmentation(self.images.load(index), rng))
        return collate(samples, self.transform)
