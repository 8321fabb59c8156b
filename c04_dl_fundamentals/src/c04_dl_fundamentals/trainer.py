"""The full training loop: modes, early stopping, checkpoints, exact resume, logs (task c04.5).

:class:`Trainer` wraps the basic loop of :mod:`~c04_dl_fundamentals.loop` with
what a real run needs:

* **Early stopping.** After every epoch the validation loss is compared with the
  best so far; after ``patience`` epochs without an improvement of at least
  ``min_delta`` training stops, and (``restore_best``) the best weights come back.
* **Checkpoints.** ``last.safetensors`` after every epoch, ``best.safetensors``
  whenever the validation loss improves, in ``run_dir``.
* **Exact resume.** :meth:`Trainer.resume` restores weights, optimizer,
  scheduler, the data/augmentation generator, the dropout stream and the loop's
  own state. Every random draw and every floating-point operation then happens
  as in a run that never stopped, so the final weights are *bit-identical*
  (the tests compare them with ``==``).
* **Determinism.** The same seed gives the same weights: the model is built
  after :func:`~c04_dl_fundamentals.loop.seed_everything`, the data order comes
  from a seeded generator, and CPU kernels are deterministic at a fixed thread
  count. Dropout draws from torch's *global* generator, which anything else in
  the process may also use, so while :meth:`Trainer.fit` runs, the global
  generator holds the trainer's own stream (``dropout_generator``) and gets the
  caller's state back afterwards (``torch.random.fork_rng``): two trainers in one
  process cannot disturb each other.
* **Progress and logs.** A rich progress bar per epoch shows the running loss and
  accuracy (only on a terminal, or when asked); every epoch appends a line to
  ``metrics.jsonl`` and redraws ``metrics.png``.
* **Devices.** ``device`` (``"cpu"`` by default, ``"cuda"``, ``"auto"``, a
  ``torch.device``) is resolved once by
  :func:`~c04_dl_fundamentals.devices.resolve_device` and the model moves there;
  the loop moves each batch to it and logs Python floats, so the history, the
  plot and the checkpoints (written from CPU copies) do not depend on the device,
  and a run checkpointed on a GPU resumes on a CPU. Bit-identical resume is a
  CPU guarantee: on a GPU, dropout draws from the CUDA generator, which the
  checkpoint does not hold, and some CUDA kernels are not deterministic.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import torch
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from torch import nn

from c04_dl_fundamentals.augment import random_shift
from c04_dl_fundamentals.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from c04_dl_fundamentals.devices import resolve_device
from c04_dl_fundamentals.history import append_jsonl, plot_history, write_jsonl
from c04_dl_fundamentals.loop import evaluate, minibatches, seed_everything, train_epoch
from c04_dl_fundamentals.optimizers import AdamW
from c04_dl_fundamentals.schedule import WarmupCosine

Data = tuple[torch.Tensor, torch.Tensor]  # (images (N, C, H, W) float32, labels (N,) int64)


@dataclass(frozen=True)
class TrainerConfig:
    """Hyperparameters of a :class:`Trainer` run (saved in every checkpoint)."""

    epochs: int = 20
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 1e-4
    warmup_fraction: float = 0.1  # of all optimizer steps
    max_shift: int = 0  # random-shift augmentation in pixels; 0: none
    clip_norm: float | None = None
    patience: int | None = 5  # stop after this many epochs in a row without improvement; None: never
    min_delta: float = 0.0  # the smallest decrease of the validation loss that counts as an improvement
    restore_best: bool = True  # at the end, load the weights of the best epoch (needs a run_dir)
    seed: int = 0

    def validate(self) -> None:
        """ValueError naming the first field out of range."""
        # BEGIN SOLUTION c04.5: counts >= 1; rates, decay, min_delta >= 0; warmup in [0, 1); name the field
        def is_int(value: object) -> bool:
            return isinstance(value, int) and not isinstance(value, bool)

        checks = [
            ("epochs", is_int(self.epochs) and self.epochs >= 1, "an integer >= 1"),
            ("batch_size", is_int(self.batch_size) and self.batch_size >= 1, "an integer >= 1"),
            ("lr", self.lr >= 0, ">= 0"),
            ("weight_decay", self.weight_decay >= 0, ">= 0"),
            ("warmup_fraction", 0 <= self.warmup_fraction < 1, "in [0, 1)"),
            ("max_shift", is_int(self.max_shift) and self.max_shift >= 0, "an integer >= 0"),
            ("clip_norm", self.clip_norm is None or self.clip_norm > 0, "None or > 0"),
            ("patience", self.patience is None or (is_int(self.patience) and self.patience >= 1), "None or >= 1"),
            ("min_delta", self.min_delta >= 0, ">= 0"),
        ]
        for name, ok, rule in checks:
            if not ok:
                raise ValueError(f"TrainerConfig.{name} must be {rule}, got {getattr(self, name)!r}")
        # END SOLUTION


@dataclass
class EarlyStopping:
    """Track the best (lowest) monitored value; ``should_stop`` after ``patience`` epochs without improving."""

    patience: int | None
    min_delta: float = 0.0
    best: float = math.inf
    best_epoch: int = 0
    bad_epochs: int = 0

    def update(self, value: float, epoch: int) -> bool:
        """Record this epoch's value; True when it improves on the best by more than ``min_delta``."""
        # BEGIN SOLUTION c04.5: NaN never improves; improve: reset the counter, else count a bad epoch
        if not math.isnan(value) and value < self.best - self.min_delta:
            self.best, self.best_epoch, self.bad_epochs = float(value), epoch, 0
            return True
        self.bad_epochs += 1
        return False
        # END SOLUTION

    @property
    def should_stop(self) -> bool:
        return self.patience is not None and self.bad_epochs >= self.patience  # SOLUTION c04.5: patience used up

    def state_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            setattr(self, key, value)


@dataclass
class TrainResult:
    """How a :meth:`Trainer.fit` call ended."""

    epochs_run: int
    stopped_early: bool
    best_epoch: int
    best_val_loss: float
    history: list[dict[str, Any]] = field(default_factory=list)


class Trainer:
    """Train a classifier with AdamW + warm-up/cosine, early stopping, checkpoints and logs.

    Args:
        model: built *after* ``seed_everything(config.seed)`` for a repeatable run.
        train, val: (images, labels) tensors.
        config: the hyperparameters.
        run_dir: where checkpoints, ``metrics.jsonl`` and ``metrics.png`` go (None: nowhere).
        progress: show a progress bar; None shows it only when ``progress_file`` is a terminal.
        progress_file: where the bar is drawn (default ``sys.stderr``).
        device: where to train: ``"cpu"`` (default), ``"cuda"``, ``"cuda:N"``, ``"auto"``
            (CUDA when present) or a ``torch.device``; the model is moved there.
    """

    model: nn.Module
    train_data: Data
    val_data: Data
    config: TrainerConfig
    device: torch.device  # where the model and each batch are
    run_dir: Path | None
    progress: bool
    progress_file: TextIO
    generator: torch.Generator  # data order and augmentation
    dropout_generator: torch.Generator  # the state torch's global generator (dropout) has while this trainer trains
    steps_per_epoch: int
    optimizer: AdamW
    scheduler: WarmupCosine
    early_stopping: EarlyStopping
    epoch: int  # epochs completed
    stopped_early: bool
    history: list[dict[str, Any]]  # one record per completed epoch

    def __init__(
        self,
        model: nn.Module,
        train: Data,
        val: Data,
        config: TrainerConfig = TrainerConfig(),
        *,
        run_dir: str | Path | None = None,
        progress: bool | None = None,
        progress_file: TextIO | None = None,
        device: str | torch.device = "cpu",
    ) -> None:
        # BEGIN SOLUTION c04.5: validate, device, seed, generator, optimizer, scheduler, early stopping
        config.validate()
        self.device = resolve_device(device)
        self.model, self.train_data, self.val_data, self.config = model.to(self.device), train, val, config
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.progress_file = progress_file if progress_file is not None else sys.stderr
        self.progress = self.progress_file.isatty() if progress is None else progress
        self.generator = seed_everything(config.seed)  # data order and augmentation
        self.dropout_generator = torch.Generator()
        self.dropout_generator.set_state(torch.get_rng_state())  # dropout's stream, kept apart from the caller's
        self.steps_per_epoch = len(minibatches(len(train[0]), config.batch_size, shuffle=False))
        total_steps = config.epochs * self.steps_per_epoch
        self.optimizer = AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        self.scheduler = WarmupCosine(self.optimizer, int(config.warmup_fraction * total_steps), total_steps)
        self.early_stopping = EarlyStopping(config.patience, config.min_delta)
        self.epoch = 0
        self.stopped_early = False
        self.history = []
        # END SOLUTION

    def _path(self, name: str) -> Path:
        if self.run_dir is None:
            raise ValueError("this Trainer has no run_dir")
        return self.run_dir / name

    @property
    def last_path(self) -> Path:
        return self._path("last.safetensors")

    @property
    def best_path(self) -> Path:
        return self._path("best.safetensors")

    @property
    def log_path(self) -> Path:
        return self._path("metrics.jsonl")

    @property
    def plot_path(self) -> Path:
        return self._path("metrics.png")

    def _augment(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return random_shift(images, self.config.max_shift, generator)

    def _progress_bar(self) -> Progress:
        """A rich progress bar for one epoch (disabled unless ``self.progress``)."""
        console = Console(file=self.progress_file, width=100)
        columns = (
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.4f}  acc {task.fields[acc]:.3f}"), TimeElapsedColumn(),
        )
        return Progress(*columns, console=console, disable=not self.progress)

    def _generators(self) -> dict[str, torch.Generator]:
        return {"data": self.generator, "dropout": self.dropout_generator}

    def save(self, path: str | Path) -> Path:
        """A checkpoint of everything :meth:`resume` needs."""
        # BEGIN SOLUTION c04.5: model, optimizer, scheduler, the data generator and the loop state as extra
        extra = {
            "epoch": self.epoch,
            "stopped_early": self.stopped_early,
            "history": self.history,
            "early_stopping": self.early_stopping.state_dict(),
            "config": dataclasses.asdict(self.config),
        }
        return save_checkpoint(
            path, self.model, self.optimizer, self.scheduler, generators=self._generators(), extra=extra
        )
        # END SOLUTION

    def resume(self, path: str | Path | None = None) -> None:
        """Continue from a checkpoint (default: ``run_dir/last.safetensors``) written with the same config."""
        # BEGIN SOLUTION c04.5: refuse another config, load all, restore the loop state, rewrite the log
        path = Path(path) if path is not None else self.last_path
        extra = load_checkpoint(path, self.model, self.optimizer, self.scheduler, generators=self._generators())
        if extra.get("config") != dataclasses.asdict(self.config):
            raise CheckpointError(f"{path} was written with another TrainerConfig: {extra.get('config')}")
        self.epoch = int(extra["epoch"])
        self.stopped_early = bool(extra["stopped_early"])
        self.history = list(extra["history"])
        self.early_stopping.load_state_dict(extra["early_stopping"])
        if self.run_dir is not None:
            write_jsonl(self.log_path, self.history)  # drop lines logged after this checkpoint was written
        # END SOLUTION

    def _run_epochs(self, target: int) -> None:
        """Epochs until ``target``, an early stop: train with a progress bar, evaluate, log, checkpoint."""
        # BEGIN SOLUTION c04.5: per epoch: train (bar), evaluate, record, early stop, log, checkpoint
        x_train, y_train = self.train_data
        x_val, y_val = self.val_data
        while self.epoch < target and not self.stopped_early:
            epoch = self.epoch + 1
            with self._progress_bar() as bar:
                description = f"epoch {epoch}/{self.config.epochs}"
                task = bar.add_task(description, total=self.steps_per_epoch, loss=0.0, acc=0.0)

                def on_batch(number: int, loss: float, accuracy: float, bar: Progress = bar, task: int = task) -> None:
                    bar.update(TaskID(task), completed=number, loss=loss, acc=accuracy)

                train = train_epoch(
                    self.model, x_train, y_train, self.optimizer,
                    batch_size=self.config.batch_size, generator=self.generator, scheduler=self.scheduler,
                    augment=self._augment if self.config.max_shift else None,
                    clip_norm=self.config.clip_norm, on_batch=on_batch,
                )
                val = evaluate(self.model, x_val, y_val)
            record = {
                "epoch": epoch, "train_loss": train.loss, "train_accuracy": train.accuracy,
                "val_loss": val.loss, "val_accuracy": val.accuracy, "lr": self.scheduler.get_last_lr()[0],
            }
            self.history.append(record)
            improved = self.early_stopping.update(val.loss, epoch)
            self.epoch = epoch
            self.stopped_early = self.early_stopping.should_stop
            self.dropout_generator.set_state(torch.get_rng_state())  # where dropout's stream stands now
            if self.run_dir is not None:
                append_jsonl(self.log_path, record)
                self.save(self.last_path)
                if improved:
                    self.save(self.best_path)
                plot_history(self.history, self.plot_path)
        # END SOLUTION

    def fit(self, max_epochs: int | None = None) -> TrainResult:
        """Train until ``config.epochs``, an early stop, or ``max_epochs`` more epochs (to simulate a crash)."""
        # BEGIN SOLUTION c04.5: run the epochs on our own dropout stream, then restore the best weights
        target = self.config.epochs if max_epochs is None else min(self.config.epochs, self.epoch + max_epochs)
        with torch.random.fork_rng(devices=[]):  # dropout draws from the global generator: give it our stream
            torch.set_rng_state(self.dropout_generator.get_state())
            self._run_epochs(target)
        finished = self.stopped_early or self.epoch >= self.config.epochs
        if finished and self.config.restore_best and self.run_dir is not None and self.best_path.exists():
            load_checkpoint(self.best_path, self.model, restore_rng=False)
        return TrainResult(
            epochs_run=self.epoch, stopped_early=self.stopped_early, best_epoch=self.early_stopping.best_epoch,
            best_val_loss=self.early_stopping.best, history=list(self.history),
        )
        # END SOLUTION
