"""c04.6: training asks ``devices.py`` where to run: ``auto`` and ``cuda`` without a GPU.

CUDA is faked absent. ``auto`` resolves to the CPU and trains exactly as ``cpu`` does,
bit for bit, through c04.3's ``fit_classifier`` and c04.5's ``Trainer``; ``cuda`` is a
clear error before any model is touched; the command line (``python -m
c04_dl_fundamentals.train --device ...``, which prints ``device_name``) trains on ``cpu`` and
makes ``cuda`` and ``gpu`` usage errors (exit status 2). The history holds Python floats;
checkpoints load whatever device wrote them.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from c04_dl_fundamentals import (
    CNN,
    MLP,
    MLP_RECIPE,
    Trainer,
    TrainerConfig,
    fit_classifier,
    load_digits_split,
    read_jsonl,
    seed_everything,
)
from c04_dl_fundamentals import train as train_cli
from c04_dl_fundamentals.data import DigitsSplit
from c04_dl_fundamentals.devices import DeviceUnavailableError

pytestmark = pytest.mark.task("c04.6")

N_TRAIN, N_TEST = 256, 128
QUICK = replace(MLP_RECIPE, epochs=2)
CONFIG = TrainerConfig(epochs=2, batch_size=32, lr=1e-2, max_shift=1, patience=None, restore_best=False, seed=5)
N_VAL = 96


@pytest.fixture(scope="module")
def small_split() -> DigitsSplit:
    split = load_digits_split()
    return replace(split, x_train=split.x_train[:N_TRAIN], y_train=split.y_train[:N_TRAIN],
                   x_test=split.x_test[:N_TEST], y_test=split.y_test[:N_TEST])


@pytest.fixture(scope="module")
def data(small_split: DigitsSplit):
    train = (small_split.x_train[:192], small_split.y_train[:192])
    return train, (small_split.x_test[:N_VAL], small_split.y_test[:N_VAL])


def fit(split: DigitsSplit, device: str | torch.device):
    seed_everything(QUICK.seed)
    model = MLP()
    return model, fit_classifier(model, split, QUICK, device=device)


def make_trainer(data, device, **kwargs) -> Trainer:
    seed_everything(CONFIG.seed)
    return Trainer(CNN(channels=(4, 8, 8)), *data, CONFIG, device=device, **kwargs)


def test_auto_without_cuda_trains_on_the_cpu_exactly_as_cpu(small_split, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    cpu_model, on_cpu = fit(small_split, "cpu")
    auto_model, on_auto = fit(small_split, "auto")
    assert on_cpu.device == on_auto.device == "cpu" and on_auto.as_dict()["device"] == "cpu"
    assert on_auto.history == on_cpu.history and on_auto.test == on_cpu.test
    assert all(isinstance(v, float) for record in on_auto.history for k, v in record.items() if k != "epoch")
    for mine, theirs in zip(auto_model.parameters(), cpu_model.parameters(), strict=True):
        assert mine.device == torch.device("cpu") and torch.equal(mine, theirs)


def test_cuda_without_cuda_fails_before_any_training(small_split, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    seed_everything(0)
    model = MLP()
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(DeviceUnavailableError, match=r"'cuda' was requested but CUDA is not available"):
        fit_classifier(model, small_split, QUICK, device="cuda")
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), before, strict=True))


def test_auto_without_cuda_is_the_cpu_and_trains_as_cpu(data, monkeypatch, tmp_path):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    on_cpu, on_auto = make_trainer(data, "cpu"), make_trainer(data, "auto", run_dir=tmp_path)
    assert on_cpu.device == on_auto.device == torch.device("cpu")
    on_cpu.fit()
    on_auto.fit()
    assert on_auto.history == on_cpu.history and all(isinstance(r["val_loss"], float) for r in on_auto.history)
    assert all(p.device == torch.device("cpu") for p in on_auto.model.parameters())
    resumed = make_trainer(data, torch.device("cpu"), run_dir=tmp_path)
    resumed.resume()  # a checkpoint holds CPU copies: it loads into a model on any device
    assert resumed.epoch == CONFIG.epochs and read_jsonl(resumed.log_path) == on_auto.history


def test_cuda_without_cuda_is_a_clear_error(data, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(DeviceUnavailableError, match=r"'cuda' was requested but CUDA is not available"):
        make_trainer(data, "cuda")


def test_command_line_trains_on_the_cpu(tmp_path, capsys, monkeypatch):
    arguments = ["--model", "mlp", "--epochs", "1", "--threads", "1", "--out", str(tmp_path)]
    assert train_cli.main([*arguments, "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "mlp (" in out and "on cpu (" in out and "1 epochs" in out and "held-out accuracy 0." in out
    assert (tmp_path / "last.safetensors").exists() and len(read_jsonl(tmp_path / "metrics.jsonl")) == 1
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit) as stopped:
        train_cli.main(["--device", "cuda", "--out", str(tmp_path / "never")])
    assert stopped.value.code == 2 and "CUDA is not available" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stopped:
        train_cli.main(["--device", "gpu", "--out", str(tmp_path / "never")])
    assert stopped.value.code == 2 and "device must be one of" in capsys.readouterr().err
    assert not (tmp_path / "never").exists()
