"""c04: deep-learning fundamentals in torch, from autograd to data-parallel training.

One idea per file, in the order of the tasks:

* :mod:`~c04_dl_fundamentals.autograd`, :mod:`~c04_dl_fundamentals.losses` - a reverse-mode autodiff
  engine on numpy and its softmax cross-entropy (c04.1);
* :mod:`~c04_dl_fundamentals.optimizers`, :mod:`~c04_dl_fundamentals.schedule`,
  :mod:`~c04_dl_fundamentals.clipping` - SGD, Adam, AdamW, warm-up + cosine, global-norm clipping (c04.2);
* :mod:`~c04_dl_fundamentals.data`, :mod:`~c04_dl_fundamentals.models`, :mod:`~c04_dl_fundamentals.loop` -
  the digits split, an MLP and the basic training loop (c04.3);
* :mod:`~c04_dl_fundamentals.augment` and the CNN in :mod:`~c04_dl_fundamentals.models` (c04.4);
* :mod:`~c04_dl_fundamentals.checkpoint`, :mod:`~c04_dl_fundamentals.history`,
  :mod:`~c04_dl_fundamentals.trainer` - checkpoints, exact resume, early stopping, logs (c04.5);
* :mod:`~c04_dl_fundamentals.devices`, :mod:`~c04_dl_fundamentals.profiling` - profiler,
  throughput, CPU vs GPU (c04.6);
* :mod:`~c04_dl_fundamentals.ddp` - data-parallel training over torch.distributed (c04.7);
* :mod:`~c04_dl_fundamentals.bench` - the module's benchmark table (``python -m c04_dl_fundamentals.bench``).
"""

from c04_dl_fundamentals.augment import random_shift, shift_images
from c04_dl_fundamentals.autograd import Tensor, unbroadcast
from c04_dl_fundamentals.checkpoint import CheckpointError, load_checkpoint, read_checkpoint, save_checkpoint
from c04_dl_fundamentals.clipping import clip_grad_norm
from c04_dl_fundamentals.data import DigitsSplit, load_digits_arrays, load_digits_split, stratified_split
from c04_dl_fundamentals.ddp import DDPConfig, DDPResult, train_data_parallel, train_single_process
from c04_dl_fundamentals.devices import available_devices, cuda_note, synchronize
from c04_dl_fundamentals.history import append_jsonl, plot_history, read_jsonl, write_jsonl
from c04_dl_fundamentals.loop import (
    CNN_RECIPE,
    MLP_RECIPE,
    EpochStats,
    FitConfig,
    evaluate,
    fit_classifier,
    minibatches,
    seed_everything,
    train_epoch,
)
from c04_dl_fundamentals.losses import softmax_cross_entropy
from c04_dl_fundamentals.models import CNN, MLP, check_images
from c04_dl_fundamentals.optimizers import SGD, Adam, AdamW
from c04_dl_fundamentals.profiling import device_table, measure_throughput, profile_training
from c04_dl_fundamentals.schedule import WarmupCosine, warmup_cosine_factor
from c04_dl_fundamentals.trainer import EarlyStopping, Trainer, TrainerConfig

__all__ = [
    "CNN",
    "CNN_RECIPE",
    "MLP",
    "MLP_RECIPE",
    "SGD",
    "Adam",
    "AdamW",
    "CheckpointError",
    "DDPConfig",
    "DDPResult",
    "DigitsSplit",
    "EarlyStopping",
    "EpochStats",
    "FitConfig",
    "Tensor",
    "Trainer",
    "TrainerConfig",
    "WarmupCosine",
    "append_jsonl",
    "available_devices",
    "check_images",
    "clip_grad_norm",
    "cuda_note",
    "device_table",
    "evaluate",
    "fit_classifier",
    "load_checkpoint",
    "load_digits_arrays",
    "load_digits_split",
    "measure_throughput",
    "minibatches",
    "plot_history",
    "profile_training",
    "random_shift",
    "read_checkpoint",
    "read_jsonl",
    "save_checkpoint",
    "seed_everything",
    "shift_images",
    "softmax_cross_entropy",
    "stratified_split",
    "synchronize",
    "train_data_parallel",
    "train_epoch",
    "train_single_process",
    "unbroadcast",
    "warmup_cosine_factor",
    "write_jsonl",
]
