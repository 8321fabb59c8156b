"""c05.5: the preallocated KV cache, and attention and the GPT computing the same with and without it.

Oracle: the model itself without a cache. Decoding token by token (or a prefill then single tokens)
through the cache must give the logits of one full forward pass over the whole sequence.
"""

from __future__ import annotations

import pytest
import torch

from c05_nlp_transformers import GPT, GPTConfig, KVCache, LayerKVCache, MultiHeadAttention, RotaryEmbedding

pytestmark = pytest.mark.task("c05.5")

# float32: the cached path computes the same sums in a different grouping (one row at a time
# instead of a (T, T) matmul), so results differ by rounding only: ~1e-7 relative on O(1) values.
CACHE_ATOL = 1e-5


def test_buffers_are_preallocated_and_filled_in_place():
    cache = LayerKVCache(2, 3, 10, 4)
    assert cache.k.shape == cache.v.shape == (2, 3, 10, 4) and cache.length == 0
    k_buffer, v_buffer = cache.k.data_ptr(), cache.v.data_ptr()
    first = torch.randn(2, 3, 4, 4)
    k_all, v_all = cache.update(first, -first)
    assert k_all.shape == (2, 3, 4, 4) and cache.length == 4
    torch.testing.assert_close(v_all, -first)
    second = torch.randn(2, 3, 1, 4)
    k_all, _ = cache.update(second, second)
    torch.testing.assert_close(k_all, torch.cat([first, second], dim=2))
    assert k_all.data_ptr() == k_buffer and cache.k.data_ptr() == k_buffer and cache.v.data_ptr() == v_buffer
    cache.reset()
    assert cache.length == 0
    assert cache.update(second[:1], second[:1])[0].shape == (1, 3, 1, 4)  # a new batch size after reset


def test_cache_misuse_is_a_clear_error():
    cache = LayerKVCache(2, 3, 5, 4)
    cache.update(torch.zeros(2, 3, 4, 4), torch.zeros(2, 3, 4, 4))
    with pytest.raises(ValueError, match="KV cache overflow: 4 cached \\+ 2 new positions > max_len 5"):
        cache.update(torch.zeros(2, 3, 2, 4), torch.zeros(2, 3, 2, 4))
    with pytest.raises(ValueError, match="holds 3 heads of size 4"):
        cache.update(torch.zeros(2, 2, 1, 4), torch.zeros(2, 2, 1, 4))
    with pytest.raises(ValueError, match="batch of 1 rows does not fit"):
        cache.update(torch.zeros(1, 3, 1, 4), torch.zeros(1, 3, 1, 4))
    with pytest.raises(ValueError, match="must be equal 4-D shapes"):
        cache.update(torch.zeros(2, 3, 1, 4), torch.zeros(2, 3, 2, 4))
    with pytest.raises(ValueError, match="at least 1"):
        LayerKVCache(1, 1, 0, 4)
    with pytest.raises(ValueError, match="at least one layer"):
        KVCache(0, 1, 1, 1, 1)


def test_model_cache_has_the_kv_heads_of_gqa():
    model = GPT(GPTConfig(n_layer=3, n_head=4, n_kv_head=2, n_embd=32, block_size=16))
    cache = model.new_kv_cache(max_batch=2)
    assert len(cache) == 3 and cache.max_len == 16 and cache.length == 0
    assert cache[0].k.shape == (2, 2, 16, 8)  # (max_batch, n_kv_heads, max_len, head_dim): half the heads
    assert cache.nbytes() == 2 * 3 * 2 * 2 * 16 * 8 * 4
    assert model.new_kv_cache(1, 5)[2].v.shape == (1, 2, 5, 8)
    model.logits(torch.zeros(2, 3, dtype=torch.long), kv_cache=cache)
    assert cache.length == 3 and all(layer.length == 3 for layer in cache.layers)
    cache.reset()
    assert cache.length == 0


@pytest.mark.parametrize("rope", [False, True])
def test_attention_with_a_cache_equals_attention_without(rope):
    torch.manual_seed(0)
    attention = MultiHeadAttention(36, 9, 3, bias=False, rope=RotaryEmbedding(4, 32, 100000.0) if rope else None)
    x = torch.randn(2, 12, 36)
    full = attention(x)
    cache = LayerKVCache(2, 3, 32, 4)
    pieces = [attention(x[:, :5], kv_cache=cache)]  # prefill
    pieces += [attention(x[:, t : t + 1], kv_cache=cache) for t in range(5, 12)]  # then one token at a time
    torch.testing.assert_close(torch.cat(pieces, dim=1), full, rtol=0, atol=CACHE_ATOL)


@pytest.mark.parametrize("positional", ["learned", "sinusoidal", "rope"])
def test_gpt_logits_with_a_cache_equal_a_full_forward_pass(metric, positional):
    torch.manual_seed(0)
    model = GPT(GPTConfig(n_layer=2, n_head=4, n_kv_head=2, n_embd=32, block_size=24, positional=positional)).eval()
    idx = torch.randint(0, 65, (2, 24), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        full = model.logits(idx)
        cache = model.new_kv_cache(max_batch=2)
        steps = [model.logits(idx[:, :10], kv_cache=cache)]
        steps += [model.logits(idx[:, t : t + 1], kv_cache=cache) for t in range(10, 24)]
    cached = torch.cat(steps, dim=1)
    metric("kv_cache_logits_max_abs_error", float((cached - full).abs().max()))
    with pytest.raises(ValueError, match="24 cached \\+ 1 new tokens are longer than the context of 24"):
        model.logits(idx[:, :1], kv_cache=cache)
