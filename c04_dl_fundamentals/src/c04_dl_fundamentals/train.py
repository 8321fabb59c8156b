"""Train the MLP or the CNN on digits from the command line: ``python -m c04_dl_fundamentals.train``.

::

    python -m c04_dl_fundamentals.train --model cnn --device auto           # CUDA when present, else the CPU
    python -m c04_dl_fundamentals.train --model mlp --device cpu --epochs 2  # a quick run

It runs a :class:`~c04_dl_fundamentals.trainer.Trainer` with the task's recipe
(:data:`~c04_dl_fundamentals.loop.MLP_RECIPE` or :data:`~c04_dl_fundamentals.loop.CNN_RECIPE`)
on the fixed stratified split, validating on the held-out quarter, and writes its
checkpoints, ``metrics.jsonl`` and ``metrics.png`` into ``--out``. ``--device`` is
resolved by :func:`~c04_dl_fundamentals.devices.resolve_device`: ``cuda`` on a
machine without one stops with a clear message before any training.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Sequence

import torch
from torch import nn

from c04_dl_fundamentals.data import load_digits_split
from c04_dl_fundamentals.devices import DEVICE_CHOICES, DeviceUnavailableError, device_name, resolve_device
from c04_dl_fundamentals.loop import CNN_RECIPE, MLP_RECIPE, seed_everything
from c04_dl_fundamentals.models import CNN, MLP, count_parameters
from c04_dl_fundamentals.trainer import Trainer, TrainerConfig

MODELS: dict[str, tuple[type[nn.Module], TrainerConfig]] = {
    name: (factory, TrainerConfig(epochs=recipe.epochs, batch_size=recipe.batch_size, lr=recipe.lr,
                                  weight_decay=recipe.weight_decay, warmup_fraction=recipe.warmup_fraction,
                                  max_shift=recipe.max_shift, seed=recipe.seed, patience=None))
    for name, factory, recipe in (("mlp", MLP, MLP_RECIPE), ("cnn", CNN, CNN_RECIPE))
}


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: train one model on one device, print the held-out accuracy and where the logs went."""
    parser = argparse.ArgumentParser(prog="python -m c04_dl_fundamentals.train", description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=sorted(MODELS), default="mlp")
    parser.add_argument("--device", default="auto", help=f"{', '.join(DEVICE_CHOICES)} or cuda:N (default: auto)")
    parser.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs (1: a smoke test)")
    parser.add_argument("--out", default="build/c04_run", help="folder for checkpoints, metrics.jsonl and metrics.png")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--progress", action="store_true", help="show the progress bar even off a terminal")
    args = parser.parse_args(argv)
    try:
        device = resolve_device(args.device)
    except (DeviceUnavailableError, ValueError) as err:
        parser.error(str(err))  # exits with status 2 and the message
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    factory, config = MODELS[args.model]
    if args.epochs is not None:
        config = dataclasses.replace(config, epochs=args.epochs)
    split = load_digits_split()
    seed_everything(config.seed)  # build the model after seeding: the same weights on every run
    model = factory()
    trainer = Trainer(model, (split.x_train, split.y_train), (split.x_test, split.y_test), config,
                      run_dir=args.out, progress=True if args.progress else None, device=device)
    started = time.perf_counter()
    result = trainer.fit()
    seconds = time.perf_counter() - started
    last = result.history[-1]
    print(f"{args.model} ({count_parameters(model):,} params) on {device_name(device)}: {result.epochs_run} epochs "
          f"in {seconds:.1f} s, held-out accuracy {last['val_accuracy']:.4f}, loss {last['val_loss']:.4f}")
    print(f"checkpoints and logs in {args.out}")
    return 0


if __name__ == "__main__":  # pragma: no cover - the entry point; main() is tested
    raise SystemExit(main())
