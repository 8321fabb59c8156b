"""A learning-rate schedule: linear warm-up, then cosine decay (task c04.2).

Large learning rates early in training, when the weights are random and the
gradients large and inconsistent, can throw a network into a bad region it never
leaves (and Adam's second-moment estimate is still poor). A *warm-up* ramps the
rate up linearly over the first steps. Afterwards a *cosine decay* lowers it
smoothly to a floor, so the last steps make small, careful moves.

With ``W`` warm-up steps, ``T`` total steps and floor ratio ``r``, the factor that
multiplies each group's base rate at (0-based) step ``s`` is::

    s < W:       (s + 1) / W                                  linear, reaching 1 at s = W - 1
    W <= s < T:  r + (1 - r) * (1 + cos(pi * (s - W) / (T - W))) / 2
    s >= T:      r

:class:`WarmupCosine` is a ``torch.optim.lr_scheduler.LRScheduler``: call
``scheduler.step()`` after every ``optimizer.step()``, and save and restore it
with ``state_dict`` / ``load_state_dict`` (a checkpoint must, or a resumed run
uses the wrong rates).
"""

from __future__ import annotations

import math

from torch import Tensor
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler


def warmup_cosine_factor(step: int, warmup_steps: int, total_steps: int, min_ratio: float = 0.0) -> float:
    """The factor for the learning rate at 0-based ``step`` (see the module docstring)."""
    # BEGIN SOLUTION c04.2: validate the arguments, then the three pieces of the schedule
    check_schedule(warmup_steps, total_steps, min_ratio)
    if step < 0:
        raise ValueError(f"step must be >= 0, got {step}")
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if step >= total_steps:
        return min_ratio
    progress = (step - warmup_steps) / (total_steps - warmup_steps)  # in [0, 1)
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))
    # END SOLUTION


def check_schedule(warmup_steps: int, total_steps: int, min_ratio: float) -> None:
    """ValueError unless 0 <= warmup_steps < total_steps and 0 <= min_ratio <= 1 (integers are integers)."""
    # BEGIN SOLUTION c04.2: integer step counts, warm-up shorter than the run, the floor a ratio
    for name, value in (("warmup_steps", warmup_steps), ("total_steps", total_steps)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be an integer, got {value!r}")
    if not 0 <= warmup_steps < total_steps:
        raise ValueError(
            f"need 0 <= warmup_steps < total_steps, got warmup_steps={warmup_steps}, total_steps={total_steps}"
        )
    if not 0.0 <= min_ratio <= 1.0:
        raise ValueError(f"min_ratio must lie in [0, 1], got {min_ratio}")
    # END SOLUTION


class WarmupCosine(LRScheduler):
    """Linear warm-up for ``warmup_steps``, cosine decay to ``min_ratio`` x base by ``total_steps``.

    Step it once per optimizer step (not per epoch).
    """

    def __init__(
        self,
        optimizer: Optimizer,
        warmup_steps: int,
        total_steps: int,
        min_ratio: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        check_schedule(warmup_steps, total_steps, min_ratio)
        self.warmup_steps = warmup_steps
        self.total_steps = total_steps
        self.min_ratio = min_ratio
        super().__init__(optimizer, last_epoch)  # sets base_lrs and applies the rate of step 0

    def get_lr(self) -> list[float | Tensor]:
        """Each group's rate at step ``self.last_epoch`` (a closed form: no drift from repeated products)."""
        # BEGIN SOLUTION c04.2: every base rate times the factor at step last_epoch
        factor = warmup_cosine_factor(self.last_epoch, self.warmup_steps, self.total_steps, self.min_ratio)
        return [base * factor for base in self.base_lrs]
        # END SOLUTION
