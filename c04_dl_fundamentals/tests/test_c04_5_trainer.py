"""c04.5: the Trainer: determinism, exact resume, early stopping, progress bar, logs.

The runs are tiny (a 4-8-8 channel CNN on 320 digits, a few epochs) so that the
bit-for-bit comparisons stay cheap; dropout, batch norm and shift augmentation
are all on, so every random generator the loop uses has to be restored.
"""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
import torch

from c04_dl_fundamentals import (
    CNN,
    MLP,
    CheckpointError,
    EarlyStopping,
    Trainer,
    TrainerConfig,
    ddp,
    load_digits_split,
    read_jsonl,
    seed_everything,
)

pytestmark = pytest.mark.task("c04.5")

CONFIG = TrainerConfig(epochs=4, batch_size=32, lr=1e-2, max_shift=1, patience=None, restore_best=False, seed=3)
N_TRAIN, N_VAL = 320, 160


@pytest.fixture(scope="module")
def data():
    split = load_digits_split()
    return (split.x_train[:N_TRAIN], split.y_train[:N_TRAIN]), (split.x_test[:N_VAL], split.y_test[:N_VAL])


def make_trainer(data, config=CONFIG, run_dir=None, **kwargs) -> Trainer:
    seed_everything(config.seed)  # the model is built after seeding, as the Trainer's docstring asks
    model = CNN(channels=(4, 8, 8))
    return Trainer(model, *data, config, run_dir=run_dir, **kwargs)


def weights(trainer: Trainer) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}


def test_determinism_max_weight_diff(data, metric):
    first, second = make_trainer(data), make_trainer(data)
    first.fit()
    second.fit()
    assert first.history == second.history
    metric("determinism_max_weight_diff", ddp.max_weight_difference(weights(first), weights(second)))


def test_resume_max_weight_diff(data, tmp_path, metric):
    straight = make_trainer(data, run_dir=tmp_path / "straight")
    straight.fit()
    interrupted = make_trainer(data, run_dir=tmp_path / "resumed")
    result = interrupted.fit(max_epochs=2)  # "crash" after epoch 2
    assert result.epochs_run == 2 and not result.stopped_early
    torch.manual_seed(999)  # whatever happened in between, the checkpoint restores the generators
    seed_everything(1234)
    resumed = Trainer(CNN(channels=(4, 8, 8)), *data, CONFIG, run_dir=tmp_path / "resumed")  # other initial weights
    resumed.resume()
    assert resumed.epoch == 2 and len(resumed.history) == 2
    resumed.fit()
    assert resumed.history == straight.history
    assert read_jsonl(resumed.log_path) == straight.history  # the log reads as if nothing happened
    s1, s2 = straight.optimizer.state_dict()["state"], resumed.optimizer.state_dict()["state"]
    assert all(torch.equal(s1[i]["exp_avg_sq"], s2[i]["exp_avg_sq"]) for i in s1)
    assert straight.scheduler.last_epoch == resumed.scheduler.last_epoch
    metric("resume_max_weight_diff", ddp.max_weight_difference(weights(straight), weights(resumed)))


def test_resume_refuses_another_config_and_rewrites_the_log(data, tmp_path):
    trainer = make_trainer(data, run_dir=tmp_path)
    trainer.fit(max_epochs=1)
    with open(trainer.log_path, "a") as log:  # an epoch logged after the checkpoint, then a crash
        log.write('{"epoch": 2, "train_loss": 9.9}\n')
    other = make_trainer(data, replace(CONFIG, lr=0.5), run_dir=tmp_path)
    with pytest.raises(CheckpointError, match="written with another TrainerConfig"):
        other.resume()
    again = make_trainer(data, run_dir=tmp_path)
    again.resume(trainer.last_path)
    assert [r["epoch"] for r in read_jsonl(again.log_path)] == [1]
    with pytest.raises(CheckpointError, match="holds a CNN but the model is a MLP"):
        Trainer(MLP(), *data, CONFIG, run_dir=tmp_path).resume()


def test_checkpoints_logs_and_plot(data, tmp_path):
    config = replace(CONFIG, epochs=2, patience=3, restore_best=True)
    trainer = make_trainer(data, config, run_dir=tmp_path)
    result = trainer.fit()
    assert result.epochs_run == 2 and not result.stopped_early and 1 <= result.best_epoch <= 2
    assert trainer.last_path.is_file() and trainer.best_path.is_file()
    records = read_jsonl(trainer.log_path)
    assert [r["epoch"] for r in records] == [1, 2]
    assert set(records[0]) == {"epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr"}
    assert records == result.history
    assert trainer.plot_path.read_bytes().startswith(b"\x89PNG")
    # restore_best: the final weights are the best epoch's
    assert result.best_val_loss == min(r["val_loss"] for r in records)
    best = make_trainer(data, config)
    best.resume(trainer.best_path)
    assert ddp.max_weight_difference(weights(best), weights(trainer)) == 0.0
    assert trainer.fit().epochs_run == 2  # already finished: nothing more to do


def test_early_stopping_on_a_plateau(data, tmp_path):
    """With lr = 0 nothing changes, so the validation loss never improves after epoch 1."""
    config = TrainerConfig(epochs=10, lr=0.0, patience=2, seed=0)
    seed_everything(0)
    trainer = Trainer(MLP(hidden=(16,)), *data, config, run_dir=tmp_path)
    result = trainer.fit()
    assert result.stopped_early and result.epochs_run == 3 and result.best_epoch == 1
    assert len(read_jsonl(trainer.log_path)) == 3


def test_early_stopping_rules():
    stopper = EarlyStopping(patience=2, min_delta=0.1)
    assert stopper.update(1.0, 1) and not stopper.should_stop
    assert not stopper.update(0.95, 2)  # better, but not by more than min_delta
    assert stopper.update(0.8, 3) and stopper.bad_epochs == 0
    assert not stopper.update(float("nan"), 4) and not stopper.should_stop
    assert not stopper.update(0.79, 5) and stopper.should_stop
    assert (stopper.best, stopper.best_epoch) == (0.8, 3)
    state = stopper.state_dict()
    twin = EarlyStopping(patience=None)
    twin.load_state_dict(state)
    assert twin == stopper
    never = EarlyStopping(patience=None)
    for epoch in range(1, 20):
        never.update(1.0, epoch)
    assert not never.should_stop


def test_progress_bar_only_when_asked(data):
    stream = io.StringIO()
    make_trainer(data, replace(CONFIG, epochs=1), progress=True, progress_file=stream).fit()
    shown = stream.getvalue()
    assert "epoch 1/1" in shown and "loss" in shown and "acc" in shown and "10/10" in shown
    quiet = io.StringIO()  # not a terminal: no bar by default
    trainer = make_trainer(data, replace(CONFIG, epochs=1), progress_file=quiet)
    trainer.fit()
    assert quiet.getvalue() == "" and not trainer.progress
    with pytest.raises(ValueError, match="no run_dir"):
        _ = trainer.last_path


@pytest.mark.parametrize(
    ("change", "message"),
    [({"epochs": 0}, r"epochs must be an integer >= 1, got 0"), ({"batch_size": 2.5}, "batch_size"),
     ({"lr": -1.0}, r"lr must be >= 0"), ({"weight_decay": -0.1}, "weight_decay"),
     ({"warmup_fraction": 1.0}, r"warmup_fraction must be in \[0, 1\)"), ({"max_shift": -1}, "max_shift"),
     ({"clip_norm": 0.0}, "clip_norm"), ({"patience": 0}, r"patience must be None or >= 1"),
     ({"min_delta": -1.0}, "min_delta"), ({"lr": float("nan")}, "lr")],
)
def test_bad_config(data, change, message):
    with pytest.raises(ValueError, match=message):
        make_trainer(data, replace(CONFIG, **change))
