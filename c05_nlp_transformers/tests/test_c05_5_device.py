"""c05.5: the sampling command line takes ``--device``; generation runs where the model is.

Without a GPU: ``--device cpu`` and ``auto`` (CUDA faked absent) print the same sample as
``generate`` with the same seed, and ``cuda`` is a usage error (exit status 2).
"""

from __future__ import annotations

import importlib

import pytest
import torch

from c05_nlp_transformers import GPT, CharTokenizer, GPTConfig, SamplingConfig, generate
from c05_nlp_transformers.train import save_checkpoint

pytestmark = pytest.mark.task("c05.5")


@pytest.fixture
def checkpoint(tmp_path):
    tokenizer = CharTokenizer("abcdefghij\n :")
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=16, n_layer=1, n_head=2, n_embd=16))
    return save_checkpoint(tmp_path / "model.safetensors", model, tokenizer), model, tokenizer


def test_sample_command_line_takes_a_device(checkpoint, capsys, monkeypatch):
    sample_module = importlib.import_module("c05_nlp_transformers.sample")
    path, model, tokenizer = checkpoint
    arguments = ["--checkpoint", str(path), "--prompt", "abc:", "--max-new-tokens", "12", "--seed", "4", "--top-k", "5"]
    assert sample_module.main([*arguments, "--device", "cpu"]) == 0
    on_cpu = capsys.readouterr().out
    expected = generate(model.eval(), tokenizer.encode("abc:"), 12, sampling=SamplingConfig(0.8, 5), seed=4)
    assert on_cpu == "abc:" + tokenizer.decode(expected) + "\n"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert sample_module.main([*arguments, "--device", "auto"]) == 0
    assert capsys.readouterr().out == on_cpu
    with pytest.raises(SystemExit) as stopped:
        sample_module.main([*arguments, "--device", "cuda"])
    assert stopped.value.code == 2 and "CUDA is not available" in capsys.readouterr().err

