"""Learning rate over a run: linear warm-up, then steps down by `gamma` (the original's schedule).

The original trains 800k iterations with warm-up from 1e-4 to 1e-3 over 500 iterations and
steps at 280k, 600k, 700k and 750k. A fine-tune is much shorter, so the steps sit at the
same fractions of the run (0.35, 0.75, 0.875, 0.9375) and the warm-up is 10% of the run
(at most the original's 500 iterations), starting from a tenth of the rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

STEP_FRACTIONS = (280 / 800, 600 / 800, 700 / 800, 750 / 800)


@dataclass(frozen=True)
class LearningRateSchedule:
    lr: float
    warmup_iterations: int = 0
    warmup_start: float = 0.0
    steps: tuple[int, ...] = ()
    gamma: float = 0.1

    @classmethod
    def for_run(
        cls,
        lr: float,
        iterations: int,
        warmup_iterations: int | None = None,
        step_fractions: Sequence[float] = STEP_FRACTIONS,
        gamma: float = 0.1,
    ) -> LearningRateSchedule:
        warmup = min(500, iterations // 10) if warmup_iterations is None else warmup_iterations
        steps = tuple(sorted(int(round(f * iterations)) for f in step_fractions))
        return cls(lr, warmup, lr / 10, steps, gamma)

    def __call__(self, iteration: int) -> float:
        """Rate for the iteration about to run (0-based)."""
        if iteration < self.warmup_iterations:
            return self.warmup_start + (self.lr - self.warmup_start) * iteration / self.warmup_iterations
        return self.lr * self.gamma ** sum(1 for step in self.steps if iteration >= step)
