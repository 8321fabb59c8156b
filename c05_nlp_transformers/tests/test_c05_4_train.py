"""c05.4: training the GPT on Tiny Shakespeare, its schedule, evaluation, checkpoint and loss curve.

The graded run is the "quick" preset (150 iterations; CI time). Its held-out loss, over every
character of the last 10 % of the corpus, must reach the manifest's ``heldout_loss_quick``. The full
2000-iteration reference run, measured for the README, reaches nanoGPT's 1.88.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from c05_nlp_transformers import GPT, GPTConfig
from c05_nlp_transformers import train as train_module

PRESETS = train_module.PRESETS
TrainConfig = train_module.TrainConfig
evaluate_loss, learning_rate = train_module.evaluate_loss, train_module.learning_rate
load_checkpoint, make_optimizer = train_module.load_checkpoint, train_module.make_optimizer

pytestmark = pytest.mark.task("c05.4")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TINY = TrainConfig(n_layer=1, n_head=2, n_embd=16, block_size=8, batch_size=4, max_iters=3, warmup_iters=1,
                   lr_decay_iters=3, eval_interval=2)


@pytest.fixture(scope="module")
def quick_run(corpus, tmp_path_factory):
    return train_module.train(PRESETS["quick"], corpus, tmp_path_factory.mktemp("quick"), progress=False)


def test_quick_schedule_reaches_the_held_out_threshold(metric, quick_run):
    config = PRESETS["quick"]
    assert len(quick_run.train_losses) == config.max_iters
    assert [step for step, _ in quick_run.val_losses] == [config.max_iters]
    assert quick_run.train_losses[0] > 4.0  # starts near ln(65) = 4.17
    metric("heldout_loss_quick", quick_run.final_val_loss)
    assert quick_run.tokens_per_s > 0 and quick_run.seconds > 0
    assert not quick_run.model.training


def test_checkpoint_reloads_to_the_same_model(quick_run, corpus):
    assert quick_run.checkpoint is not None and quick_run.checkpoint.suffix == ".safetensors"
    model, tokenizer = load_checkpoint(quick_run.checkpoint)
    assert tokenizer.chars == quick_run.tokenizer.chars and model.config == quick_run.model.config
    assert model.lm_head.weight is model.wte.weight
    idx = torch.tensor([tokenizer.encode(corpus[:64])])
    torch.testing.assert_close(model(idx)[0], quick_run.model(idx)[0], rtol=0, atol=0)


def test_loss_curve_is_a_png(quick_run):
    assert quick_run.plot is not None and quick_run.plot.read_bytes()[:8] == PNG_MAGIC


def test_the_schedule_warms_up_then_decays_to_the_floor():
    config = PRESETS["reference"]
    rates = [learning_rate(i, config) for i in range(config.max_iters + 50)]
    assert rates[0] == pytest.approx(config.learning_rate / (config.warmup_iters + 1))
    assert max(rates) == pytest.approx(config.learning_rate, rel=1e-3)
    assert all(a <= b for a, b in itertools.pairwise(rates[: config.warmup_iters + 1]))
    decay = rates[config.warmup_iters : config.lr_decay_iters + 1]
    assert all(a >= b for a, b in itertools.pairwise(decay))
    assert rates[config.lr_decay_iters] == pytest.approx(config.min_lr)
    assert rates[-1] == config.min_lr
    middle = (config.warmup_iters + config.lr_decay_iters) // 2
    assert rates[middle] == pytest.approx((config.learning_rate + config.min_lr) / 2, rel=1e-2)  # cosine midpoint


def test_weight_decay_applies_to_matrices_only():
    model = GPT(GPTConfig(n_layer=1, n_embd=16))
    optimizer = make_optimizer(model, PRESETS["reference"])
    decayed, plain = optimizer.param_groups
    assert decayed["weight_decay"] == 0.1 and plain["weight_decay"] == 0.0
    assert all(p.dim() == 2 for p in decayed["params"]) and all(p.dim() == 1 for p in plain["params"])
    assert len(decayed["params"]) + len(plain["params"]) == len(list(model.parameters()))
    assert optimizer.defaults["betas"] == (0.9, 0.99)


def test_evaluation_covers_every_position_once():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=11, block_size=8, n_layer=1, n_embd=16)).train()
    data = torch.randint(0, 11, (53,), generator=torch.Generator().manual_seed(1))  # 6 windows + a tail of 4
    total = 0.0
    for start in range(0, 52, 8):
        x, y = data[start : min(start + 8, 52)], data[start + 1 : min(start + 9, 53)]
        model.eval()
        with torch.no_grad():
            total += F.cross_entropy(model(x[None])[0][0], y, reduction="sum").item()
    model.train()
    assert evaluate_loss(model, data, 8, batch_windows=4) == pytest.approx(total / 52, rel=1e-5)
    assert model.training  # the mode is restored
    with pytest.raises(ValueError, match="at least two tokens"):
        evaluate_loss(model, data[:1], 8)


def test_training_is_reproducible_and_writes_nothing_without_a_folder(corpus):
    text = corpus[:5000]
    first = train_module.train(TINY, text, progress=False)
    second = train_module.train(TINY, text, progress=False)
    assert first.train_losses == second.train_losses and first.val_losses == second.val_losses
    assert [step for step, _ in first.val_losses] == [2, 3]
    assert first.checkpoint is None and first.plot is None
    assert all(math.isfinite(x) for x in first.train_losses)


def test_command_line_shows_progress_and_writes_files(tmp_path, monkeypatch, capsys, corpus):
    monkeypatch.setattr(train_module, "load_tinyshakespeare", lambda: corpus[:5000])
    monkeypatch.setitem(PRESETS, "tiny", replace(TINY, max_iters=4))
    threads = torch.get_num_threads()
    try:
        arguments = ["--config", "tiny", "--max-iters", "3", "--out", str(tmp_path), "--threads", "1"]
        assert train_module.main(arguments) == 0
    finally:
        torch.set_num_threads(threads)
    captured = capsys.readouterr()
    assert "training" in captured.err and "3/3" in captured.err  # the tqdm bar
    assert "held-out loss" in captured.out and "3 iterations" in captured.out
    assert (tmp_path / "model.safetensors").is_file() and (tmp_path / "loss_curve.png").read_bytes()[:8] == PNG_MAGIC
