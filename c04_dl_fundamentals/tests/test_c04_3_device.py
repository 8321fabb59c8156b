"""c04.3: the training loop runs where the model is; ``fit_classifier`` takes a device.

Without a GPU, the plumbing is checked three ways: ``device="cpu"`` and ``"auto"``
(CUDA faked absent) give the same numbers bit for bit; ``"cuda"`` without CUDA
fails before the model is touched; and a model on the ``meta`` device (shapes
only, not trainable: ``.item()`` refuses it) shows that every batch is moved to
the model's device before the forward pass, whatever device the data is on.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from torch import nn

from c04_dl_fundamentals import MLP, MLP_RECIPE, AdamW, evaluate, fit_classifier, load_digits_split, seed_everything
from c04_dl_fundamentals.data import DigitsSplit
from c04_dl_fundamentals.devices import DeviceUnavailableError
from c04_dl_fundamentals.loop import train_epoch

pytestmark = pytest.mark.task("c04.3")

N_TRAIN, N_TEST = 256, 128
QUICK = replace(MLP_RECIPE, epochs=2)


@pytest.fixture(scope="module")
def small_split() -> DigitsSplit:
    split = load_digits_split()
    return replace(split, x_train=split.x_train[:N_TRAIN], y_train=split.y_train[:N_TRAIN],
                   x_test=split.x_test[:N_TEST], y_test=split.y_test[:N_TEST])


def fit(split: DigitsSplit, device: str | torch.device):
    seed_everything(QUICK.seed)
    model = MLP()
    return model, fit_classifier(model, split, QUICK, device=device)


class DeviceSpy(nn.Module):
    """A model that records the device of every batch it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = MLP()
        self.seen: list[torch.device] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(x.device)
        return self.inner(x)


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


def test_batches_move_to_the_models_device(small_split):
    spy = DeviceSpy().to("meta")  # a device with shapes but no values: .item() raises after the forward
    optimizer = AdamW(spy.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(0)
    with pytest.raises(RuntimeError, match=r"item\(\) cannot be called on meta tensors"):
        train_epoch(spy, small_split.x_train, small_split.y_train, optimizer, batch_size=32, generator=generator)
    assert spy.seen == [torch.device("meta")]  # the CPU batch was moved to the model's device first
    with pytest.raises(RuntimeError, match=r"item\(\) cannot be called on meta tensors"):
        evaluate(spy, small_split.x_test, small_split.y_test)
    assert spy.seen[1:] == [torch.device("meta")]
    on_cpu = DeviceSpy()
    stats = evaluate(on_cpu, small_split.x_test, small_split.y_test, batch_size=100)
    assert on_cpu.seen == [torch.device("cpu")] * 2 and isinstance(stats.loss, float)
