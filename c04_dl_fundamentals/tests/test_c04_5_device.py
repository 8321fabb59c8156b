"""c04.5: the Trainer takes a device, and ``python -m c04_dl_fundamentals.train --device ...`` runs.

Without a GPU: ``auto`` (CUDA faked absent) resolves to the CPU and trains exactly
as ``cpu`` does; ``cuda`` is a clear error from the Trainer and a usage error
(exit status 2) from the command line; the history holds Python floats, and the
checkpoints load whatever device wrote them.
"""

from __future__ import annotations

import pytest
import torch

from c04_dl_fundamentals import CNN, Trainer, TrainerConfig, load_digits_split, read_jsonl, seed_everything
from c04_dl_fundamentals import train as train_cli
from c04_dl_fundamentals.devices import DeviceUnavailableError

pytestmark = pytest.mark.task("c04.5")

CONFIG = TrainerConfig(epochs=2, batch_size=32, lr=1e-2, max_shift=1, patience=None, restore_best=False, seed=5)
N_TRAIN, N_VAL = 192, 96


@pytest.fixture(scope="module")
def data():
    split = load_digits_split()
    return (split.x_train[:N_TRAIN], split.y_train[:N_TRAIN]), (split.x_test[:N_VAL], split.y_test[:N_VAL])


def make_trainer(data, device, **kwargs) -> Trainer:
    seed_everything(CONFIG.seed)
    return Trainer(CNN(channels=(4, 8, 8)), *data, CONFIG, device=device, **kwargs)


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
