"""c04.3: the training loop runs where the model is.

Without a GPU, a model on the ``meta`` device (shapes only, not trainable: ``.item()``
refuses it) shows that every batch is moved to the model's device before the forward
pass, whatever device the data is on. Resolving ``device="auto"`` and ``"cuda"`` is
c04.6's (``devices.py``), so those checks are in ``test_c04_6_device_training.py``.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from torch import nn

from c04_dl_fundamentals import MLP, AdamW, evaluate, load_digits_split
from c04_dl_fundamentals.data import DigitsSplit
from c04_dl_fundamentals.loop import train_epoch

pytestmark = pytest.mark.task("c04.3")

N_TRAIN, N_TEST = 256, 128


@pytest.fixture(scope="module")
def small_split() -> DigitsSplit:
    split = load_digits_split()
    return replace(split, x_train=split.x_train[:N_TRAIN], y_train=split.y_train[:N_TRAIN],
                   x_test=split.x_test[:N_TEST], y_test=split.y_test[:N_TEST])


class DeviceSpy(nn.Module):
    """A model that records the device of every batch it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = MLP()
        self.seen: list[torch.device] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(x.device)
        return self.inner(x)


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
