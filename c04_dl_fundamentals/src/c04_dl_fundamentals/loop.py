"""The basic training loop: mini-batches, one epoch of training, evaluation (task c04.3).

Every torch training loop is the same five lines per mini-batch::

    logits = model(x_batch)                  # forward: build the graph
    loss = cross_entropy(logits, y_batch)  # a scalar to minimise
    optimizer.zero_grad()                    # gradients accumulate: clear last step's
    loss.backward()                          # backward: fill p.grad for every parameter
    optimizer.step()                         # update the parameters from p.grad

around which sit the decisions that make training work or not: shuffle the
rows every epoch (from a seeded generator, so runs repeat), ``model.train()``
while training and ``model.eval()`` plus ``torch.no_grad()`` while evaluating
(dropout off, batch norm on running statistics, no graph kept), and a
learning-rate schedule stepped once per batch.

:func:`fit_classifier` puts it together with our own :class:`~c04_dl_fundamentals.optimizers.AdamW`
and :class:`~c04_dl_fundamentals.schedule.WarmupCosine`; :data:`MLP_RECIPE` and
:data:`CNN_RECIPE` are the settings that reach the task's accuracies in a few
seconds of CPU.

**Devices.** The loop runs wherever the model is: :func:`train_epoch` and
:func:`evaluate` move each mini-batch to the device of the model's parameters
(``x[rows].to(device)``), so the data set can stay in CPU memory, and they hand
back plain Python floats (``loss.item()``), which are on the CPU whatever ran
the model. :func:`fit_classifier` takes ``device`` (``"cpu"`` by default;
``"auto"`` or ``"cuda"`` through :func:`~c04_dl_fundamentals.devices.resolve_device`)
and moves the model there first. Data order and augmentation offsets still come
from the CPU generator, so the batches are the same on every device.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn
from torch.nn.functional import cross_entropy
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from c04_dl_fundamentals.augment import random_shift
from c04_dl_fundamentals.clipping import clip_grad_norm
from c04_dl_fundamentals.data import DigitsSplit
from c04_dl_fundamentals.devices import module_device, resolve_device
from c04_dl_fundamentals.optimizers import AdamW
from c04_dl_fundamentals.schedule import WarmupCosine

Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]  # (batch, generator) -> augmented batch
BatchCallback = Callable[[int, float, float], None]  # (batch number, running loss, running accuracy)


@dataclass(frozen=True)
class EpochStats:
    """Mean loss and accuracy over the samples of one pass."""

    loss: float
    accuracy: float


@dataclass(frozen=True)
class FitConfig:
    """Hyperparameters of :func:`fit_classifier`."""

    epochs: int = 20
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 1e-4
    warmup_fraction: float = 0.1  # of all optimizer steps
    max_shift: int = 0  # random-shift augmentation in pixels; 0: none
    clip_norm: float | None = None
    seed: int = 0


MLP_RECIPE = FitConfig(epochs=20, lr=3e-3, max_shift=0)
CNN_RECIPE = FitConfig(epochs=10, lr=3e-3, max_shift=1)


@dataclass
class FitResult:
    """What :func:`fit_classifier` returns: per-epoch history and the final held-out numbers."""

    history: list[dict[str, float]]
    test: EpochStats
    config: FitConfig
    device: str = "cpu"  # where the model trained (and still is)

    def as_dict(self) -> dict[str, object]:
        return {"history": self.history, "test": asdict(self.test), "config": asdict(self.config),
                "device": self.device}


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python's, numpy's and torch's global generators; return a fresh torch generator seeded alike.

    The returned generator is meant for data order and augmentation, so that they
    do not share a stream with dropout (which draws from torch's global generator).
    """
    # BEGIN SOLUTION c04.3: seed random, np.random and torch, return torch.Generator().manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)
    # END SOLUTION


def minibatches(
    n: int, batch_size: int, generator: torch.Generator | None = None, *, shuffle: bool = True
) -> list[torch.Tensor]:
    """Row indices of each mini-batch of one epoch: a permutation of range(n) cut into ``batch_size`` pieces.

    The last batch holds the remainder (it is smaller, never dropped). Without
    ``shuffle`` the rows stay in order (for evaluation).
    """
    # BEGIN SOLUTION c04.3: validate n >= 0 and batch_size >= 1, permute with the generator, split
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    return list(torch.split(order, batch_size)) if n else []  # torch.split of nothing gives one empty piece
    # END SOLUTION


def _check_xy(x: torch.Tensor, y: torch.Tensor) -> None:
    """Matching batch sizes and int64 labels (the model checks the images themselves)."""
    # BEGIN SOLUTION c04.3: y must be a 1-D int64 tensor with one label per image
    if not isinstance(y, torch.Tensor) or y.dtype != torch.int64 or y.ndim != 1:
        described = f"{tuple(y.shape)} {y.dtype}" if isinstance(y, torch.Tensor) else type(y).__name__
        raise TypeError(f"labels must be a 1-D int64 tensor, got {described}")
    if len(x) != len(y):
        raise ValueError(f"{len(x)} images but {len(y)} labels")
    # END SOLUTION


def train_epoch(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    optimizer: Optimizer,
    *,
    batch_size: int,
    generator: torch.Generator,
    scheduler: LRScheduler | None = None,
    augment: Augment | None = None,
    clip_norm: float | None = None,
    on_batch: BatchCallback | None = None,
) -> EpochStats:
    """One pass over (x, y) in shuffled mini-batches; returns the mean training loss and accuracy.

    The model is put in train mode. Per batch: move it to the model's device,
    augment (if given), forward,
    cross-entropy, zero_grad, backward, clip (if ``clip_norm``), optimizer step,
    scheduler step, then ``on_batch(batch_number, running_loss, running_accuracy)``.
    """
    # BEGIN SOLUTION c04.3: train mode, the five lines per batch, sample-weighted running means
    _check_xy(x, y)
    model.train()
    device = module_device(model)
    total_loss, correct, seen = 0.0, 0, 0
    for number, rows in enumerate(minibatches(len(x), batch_size, generator), start=1):
        xb, yb = x[rows].to(device), y[rows].to(device)  # (b, C, H, W), (b,) where the model is
        if augment is not None:
            xb = augment(xb, generator)
        logits = model(xb)  # (b, n_classes)
        loss = cross_entropy(logits, yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        if clip_norm is not None:
            clip_grad_norm(model.parameters(), clip_norm)
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        total_loss += loss.item() * len(rows)
        correct += int((logits.argmax(dim=1) == yb).sum())
        seen += len(rows)
        if on_batch is not None:
            on_batch(number, total_loss / seen, correct / seen)
    if seen == 0:
        raise ValueError("cannot train on an empty data set")
    return EpochStats(loss=total_loss / seen, accuracy=correct / seen)
    # END SOLUTION


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 512) -> EpochStats:
    """Mean loss and accuracy of ``model`` on (x, y) in eval mode without building a graph.

    Each batch moves to the model's device; the numbers come back as Python floats.
    """
    # BEGIN SOLUTION c04.3: eval mode, no_grad, batches to the model's device, summed loss / n
    _check_xy(x, y)
    if len(x) == 0:
        raise ValueError("cannot evaluate on an empty data set")
    model.eval()
    device = module_device(model)
    total_loss, correct = 0.0, 0
    with torch.no_grad():
        for rows in minibatches(len(x), batch_size, shuffle=False):
            xb, yb = x[rows].to(device), y[rows].to(device)
            logits = model(xb)
            total_loss += cross_entropy(logits, yb, reduction="sum").item()
            correct += int((logits.argmax(dim=1) == yb).sum())
    return EpochStats(loss=total_loss / len(x), accuracy=correct / len(x))
    # END SOLUTION


def fit_classifier(
    model: nn.Module, split: DigitsSplit, config: FitConfig = MLP_RECIPE, *, device: str | torch.device = "cpu"
) -> FitResult:
    """Train ``model`` on ``split.x_train`` with AdamW and warm-up + cosine; evaluate on the test part.

    Seeds everything from ``config.seed`` first (build the model after seeding
    too, with :func:`seed_everything`, for a fully repeatable run). ``device``
    (``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"auto"`` or a ``torch.device``) is where
    the model is moved and trained; it stays there afterwards.
    """
    # BEGIN SOLUTION c04.3: device, seed, AdamW + WarmupCosine, train_epoch per epoch, evaluate
    if config.epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {config.epochs}")
    target = resolve_device(device)  # before any work: a missing GPU is an error now, not after the first epoch
    model.to(target)
    generator = seed_everything(config.seed)
    optimizer = AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = len(minibatches(len(split.x_train), config.batch_size, shuffle=False))
    total_steps = config.epochs * steps_per_epoch
    scheduler = WarmupCosine(optimizer, int(config.warmup_fraction * total_steps), total_steps)
    shift = config.max_shift

    def augment(xb: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        return random_shift(xb, shift, gen)

    history: list[dict[str, float]] = []
    for epoch in range(1, config.epochs + 1):
        stats = train_epoch(
            model, split.x_train, split.y_train, optimizer,
            batch_size=config.batch_size, generator=generator, scheduler=scheduler,
            augment=augment if shift else None, clip_norm=config.clip_norm,
        )
        history.append({"epoch": epoch, "train_loss": stats.loss, "train_accuracy": stats.accuracy})
    test = evaluate(model, split.x_test, split.y_test)
    return FitResult(history=history, test=test, config=config, device=str(target))
    # END SOLUTION
