"""c05.4: ``train`` takes a device; ``python -m c05_nlp_transformers.train --device ...`` runs.

Without a GPU: ``auto`` (CUDA faked absent) resolves to the CPU and trains exactly as
``cpu``; ``cuda`` is a clear error before any work, from ``train`` and (exit status 2)
from the command line; and a GPT on the ``meta`` device (shapes only, not trainable)
shows that the held-out evaluation moves its CPU windows to the model's device.
"""

from __future__ import annotations

import pytest
import torch

from c05_nlp_transformers import GPT, GPTConfig
from c05_nlp_transformers import train as train_module

pytestmark = pytest.mark.task("c05.4")

TINY = train_module.TrainConfig(n_layer=1, n_head=2, n_embd=16, block_size=8, batch_size=4, max_iters=3,
                                warmup_iters=1, lr_decay_iters=3, eval_interval=2)
TEXT_CHARS = 4000  # a slice of the corpus: enough windows for the tiny model, quick to evaluate


class DeviceSpy(GPT):
    """A GPT that records the device of every batch of token ids it is given."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__(config)
        self.seen: list[torch.device] = []

    def forward(self, idx, targets=None, **kwargs):
        self.seen.append(idx.device)
        return super().forward(idx, targets, **kwargs)


def test_auto_without_cuda_trains_on_the_cpu_exactly_as_cpu(corpus, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    text = corpus[:TEXT_CHARS]
    on_cpu = train_module.train(TINY, text, progress=False, device="cpu")
    on_auto = train_module.train(TINY, text, progress=False, device="auto")
    assert on_cpu.device == on_auto.device == "cpu" and on_auto.model.device == torch.device("cpu")
    assert on_auto.train_losses == on_cpu.train_losses and on_auto.val_losses == on_cpu.val_losses
    assert all(isinstance(loss, float) for loss in on_auto.train_losses)
    for mine, theirs in zip(on_auto.model.parameters(), on_cpu.model.parameters(), strict=True):
        assert torch.equal(mine, theirs)


def test_cuda_without_cuda_is_a_clear_error(corpus, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(train_module.DeviceUnavailableError, match=r"'cuda' was requested but CUDA is not available"):
        train_module.train(TINY, corpus[:TEXT_CHARS], progress=False, device="cuda")
    assert train_module.resolve_device("auto") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert train_module.resolve_device("auto") == train_module.resolve_device("cuda") == torch.device("cuda", 0)
    with pytest.raises(train_module.DeviceUnavailableError, match=r"only 1 CUDA device"):
        train_module.resolve_device("cuda:1")
    for bad in ("gpu", "meta", 0):
        with pytest.raises(ValueError, match=r"device must be one of|runs on the CPU or a CUDA GPU"):
            train_module.resolve_device(bad)


def test_evaluation_moves_windows_to_the_models_device():
    spy = DeviceSpy(GPTConfig(vocab_size=11, block_size=8, n_layer=1, n_head=2, n_embd=16)).to("meta")
    data = torch.arange(100) % 11  # on the CPU
    with pytest.raises(RuntimeError, match=r"item\(\) cannot be called on meta tensors"):
        train_module.evaluate_loss(spy, data, block_size=8)
    assert spy.seen == [torch.device("meta")]


def test_command_line_trains_on_the_cpu(tmp_path, capsys, monkeypatch):
    arguments = ["--config", "quick", "--max-iters", "2", "--no-progress", "--threads", "1", "--out", str(tmp_path)]
    assert train_module.main([*arguments, "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "config quick on cpu: 2 iterations" in out and "held-out loss" in out and "it/s" in out
    model, tokenizer = train_module.load_checkpoint(tmp_path / "model.safetensors", device="cpu")
    assert model.device == torch.device("cpu") and tokenizer.vocab_size == 65
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit) as stopped:
        train_module.main([*arguments, "--device", "cuda"])
    assert stopped.value.code == 2 and "CUDA is not available" in capsys.readouterr().err
