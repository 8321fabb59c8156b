"""c05.4: the character vocabulary, the split, batches, and the GPT's structure.

Checked against definitions written out here: the parameter count of the reference shape, the
pre-norm residual formula, cross-entropy from torch, causality, and the context limit.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from c05_nlp_transformers import GPT, CharTokenizer, GPTConfig, get_batch, train_val_split

pytestmark = pytest.mark.task("c05.4")

REFERENCE_PARAMETERS = (  # nanoGPT's reference has no biases
    65 * 128  # token embedding, shared with lm_head (weight tying)
    + 64 * 128  # learned positions
    + 4 * (2 * 128 + 4 * 128 * 128 + 128 * 512 + 512 * 128)  # blocks: two LayerNorms, attention, MLP
    + 128  # final LayerNorm
)


def test_char_tokenizer_on_the_corpus(corpus):
    tokenizer = CharTokenizer.from_text(corpus)
    assert tokenizer.vocab_size == 65
    assert list(tokenizer.chars) == sorted(set(corpus))
    assert tokenizer.encode("\n") == [0] and tokenizer.decode(tokenizer.encode(corpus[:1000])) == corpus[:1000]


def test_char_tokenizer_bad_input():
    tokenizer = CharTokenizer("abc")
    assert tokenizer.encode("cab") == [2, 0, 1]
    with pytest.raises(ValueError, match="'z' is not in the vocabulary"):
        tokenizer.encode("az")
    with pytest.raises(ValueError, match="token id 3 is outside the vocabulary of 3"):
        tokenizer.decode([0, 3])
    with pytest.raises(ValueError, match="empty vocabulary"):
        CharTokenizer("")


def test_split_is_the_first_90_percent_and_the_rest(corpus):
    data = torch.arange(1000)
    train, val = train_val_split(data)
    assert torch.equal(train, data[:900]) and torch.equal(val, data[900:])
    full_train, full_val = train_val_split(torch.zeros(len(corpus)))
    assert len(full_train) == int(0.9 * len(corpus)) and len(full_train) + len(full_val) == len(corpus)
    for fraction in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match="train_fraction"):
            train_val_split(data, fraction)
    with pytest.raises(ValueError, match="too few"):
        train_val_split(torch.arange(1))


def test_batches_are_windows_and_their_next_tokens():
    data = torch.arange(100)
    x, y = get_batch(data, 8, 10, torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (8, 10) and x.dtype == torch.long
    assert torch.equal(y, x + 1)  # consecutive ids: the target is the next one
    assert torch.equal(x[:, 1:], x[:, :-1] + 1)
    again, _ = get_batch(data, 8, 10, torch.Generator().manual_seed(0))
    assert torch.equal(x, again)
    with pytest.raises(ValueError, match="no window"):
        get_batch(torch.arange(10), 2, 10)


def test_reference_shape_and_weight_tying():
    model = GPT(GPTConfig())
    assert model.num_parameters() == REFERENCE_PARAMETERS == 804_096
    assert model.blocks[0].attn.q_proj.bias is None and model.ln_f.bias is None
    assert model.lm_head.weight is model.wte.weight  # one tensor, not a copy
    assert "lm_head.weight" in model.state_dict()
    idx = torch.randint(0, 65, (2, 16), generator=torch.Generator().manual_seed(0))
    _, loss = model(idx, idx)
    loss.backward()
    assert model.wte.weight.grad is not None and model.lm_head.weight.grad is model.wte.weight.grad


def test_initial_loss_is_that_of_a_uniform_guess():
    torch.manual_seed(0)
    model = GPT(GPTConfig())
    idx = torch.randint(0, 65, (4, 64), generator=torch.Generator().manual_seed(1))
    logits, loss = model(idx[:, :-1], idx[:, 1:])
    assert logits.shape == (4, 63, 65)
    torch.testing.assert_close(loss, F.cross_entropy(logits.reshape(-1, 65), idx[:, 1:].reshape(-1)))
    assert abs(loss.item() - math.log(65)) < 0.1  # small N(0, 0.02) weights: nearly uniform logits
    assert model(idx)[1] is None


def test_blocks_are_pre_norm_residual():
    torch.manual_seed(0)
    model = GPT(GPTConfig(n_layer=1, n_embd=32))
    block = model.blocks[0]
    x = torch.randn(2, 5, 32)
    after_attention = x + block.attn(block.ln_1(x))
    expected = after_attention + block.mlp.c_proj(F.gelu(block.mlp.c_fc(block.ln_2(after_attention))))
    torch.testing.assert_close(block(x), expected)


def test_residual_projections_start_smaller():
    torch.manual_seed(0)
    model = GPT(GPTConfig(n_layer=8, n_embd=256))
    assert abs(model.blocks[0].mlp.c_fc.weight.std().item() - 0.02) < 0.002
    assert abs(model.blocks[0].attn.o_proj.weight.std().item() - 0.02 / math.sqrt(16)) < 0.001


@pytest.mark.parametrize("positional", ["learned", "sinusoidal", "rope"])
def test_every_positional_encoding_gives_a_causal_model(positional):
    torch.manual_seed(0)
    model = GPT(GPTConfig(n_layer=2, n_embd=32, block_size=16, positional=positional)).eval()
    idx = torch.randint(0, 65, (1, 12), generator=torch.Generator().manual_seed(2))
    changed = idx.clone()
    changed[0, 8:] = (changed[0, 8:] + 1) % 65
    logits, _ = model(idx)
    torch.testing.assert_close(logits[:, :8], model(changed)[0][:, :8])
    assert not torch.allclose(logits[:, 8:], model(changed)[0][:, 8:])
    shifted = torch.roll(idx, 1, dims=1)
    assert not torch.allclose(model(shifted)[0][:, 1:], logits[:, :-1])  # positions matter


def test_input_longer_than_the_context_is_a_clear_error():
    model = GPT(GPTConfig(block_size=8, n_layer=1, n_embd=16))
    assert model(torch.zeros(1, 8, dtype=torch.long))[0].shape == (1, 8, 65)
    with pytest.raises(ValueError, match="longer than the context of 8 tokens"):
        model(torch.zeros(1, 9, dtype=torch.long))
    with pytest.raises(ValueError, match="positional must be"):
        GPT(GPTConfig(positional="alibi"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="must be positive"):
        GPT(GPTConfig(vocab_size=0))
