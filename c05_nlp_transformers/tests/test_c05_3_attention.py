"""c05.3: scaled dot-product attention, masks, multi-head and grouped-query attention.

Oracles: ``torch.nn.functional.scaled_dot_product_attention`` (float32; ``enable_gqa=True`` for
grouped-query attention) and a plain Python loop over batch, head, query and key (float64).
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from c05_nlp_transformers import MultiHeadAttention, RotaryEmbedding, causal_mask, padding_mask
from c05_nlp_transformers import scaled_dot_product_attention as sdpa

pytestmark = pytest.mark.task("c05.3")

# float32 against torch: both compute a length-S softmax-weighted sum of unit-scale values; the
# difference is rounding (~1e-7 relative) in a different summation order, far below 1e-6.
TORCH_ATOL = 1e-6
LOOP_ATOL = 1e-10  # float64 against a Python loop in float64
CASES = [  # (B, H, H_kv, T, S, D)
    (2, 4, 4, 7, 7, 16),
    (1, 6, 2, 5, 5, 8),  # GQA: 3 query heads per KV head
    (3, 4, 1, 9, 9, 4),  # multi-query attention
    (2, 9, 3, 1, 12, 8),  # one new token against 12 cached keys (SmolLM2's head counts)
    (2, 4, 2, 4, 10, 8),  # four new tokens after six cached
]


def qkv(case, dtype=torch.float32, seed=0):
    b, h, h_kv, t, s, d = case
    generator = torch.Generator().manual_seed(seed)
    q = torch.randn(b, h, t, d, generator=generator, dtype=dtype)
    k = torch.randn(b, h_kv, s, d, generator=generator, dtype=dtype)
    v = torch.randn(b, h_kv, s, d, generator=generator, dtype=dtype)
    return q, k, v


def torch_reference(q, k, v, visible):
    """torch's SDPA with an explicit bool mask (True = visible); its fully masked rows are zeros."""
    return F.scaled_dot_product_attention(q, k, v, attn_mask=visible, enable_gqa=k.shape[1] != q.shape[1])


def test_matches_torch_without_mask_with_causal_and_with_padding(metric):
    worst = 0.0
    for n, case in enumerate(CASES):
        b, _, _, t, s, _ = case
        q, k, v = qkv(case, seed=n)
        causal = causal_mask(t, s)
        lengths = torch.tensor([s - i % 3 for i in range(b)])
        pad = padding_mask(lengths, s)[:, None, None, :]  # (B, 1, 1, S)
        for mask, is_causal, visible in ((None, False, None), (None, True, causal), (pad, True, pad & causal),
                                         (pad, False, pad)):
            got = sdpa(q, k, v, mask=mask, is_causal=is_causal)
            expected = torch_reference(q, k, v, visible)
            assert got.shape == q.shape and got.dtype == q.dtype
            worst = max(worst, float((got - expected).abs().max()))
    metric("sdpa_max_abs_error_vs_torch", worst)


def test_causal_with_equal_lengths_matches_torchs_is_causal():
    q, k, v = qkv((2, 4, 2, 8, 8, 16), seed=5)
    expected = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
    torch.testing.assert_close(sdpa(q, k, v, is_causal=True), expected, rtol=0, atol=TORCH_ATOL)


def loop_attention(q, k, v, visible, scale):
    """Attention one number at a time: the definition, with no broadcasting to get wrong."""
    b_n, h_n, t_n, d_n = q.shape
    group = h_n // k.shape[1]
    out = torch.zeros_like(q)
    for b in range(b_n):
        for h in range(h_n):
            kv = h // group
            for i in range(t_n):
                keys = [j for j in range(k.shape[2]) if visible[b, i, j]]
                if not keys:
                    continue  # sees nothing: zeros
                scores = [scale * sum(float(q[b, h, i, d] * k[b, kv, j, d]) for d in range(d_n)) for j in keys]
                top = max(scores)
                weights = [math.exp(s - top) for s in scores]
                total = sum(weights)
                for d in range(d_n):
                    out[b, h, i, d] = sum(w * float(v[b, kv, j, d]) for w, j in zip(weights, keys, strict=True)) / total
    return out


def test_matches_a_python_loop_with_gqa_causal_and_padding(metric):
    case = (2, 4, 2, 3, 5, 4)
    q, k, v = qkv(case, torch.float64, seed=6)
    lengths = torch.tensor([5, 3])
    pad = padding_mask(lengths, 5)  # (B, S)
    visible = pad[:, None, :] & causal_mask(3, 5)  # (B, T, S)
    got = sdpa(q, k, v, mask=pad[:, None, None, :], is_causal=True, scale=0.3)
    expected = loop_attention(q, k, v, visible, 0.3)
    metric("attention_max_abs_error_vs_loop", float((got - expected).abs().max()))


def test_rows_that_see_nothing_are_zeros_not_nan():
    q, k, v = qkv((2, 2, 2, 4, 4, 8), seed=7)
    left = padding_mask(torch.tensor([4, 2]), 4, left=True)  # row 1: first two positions are padding
    out = sdpa(q, k, v, mask=left[:, None, None, :], is_causal=True)
    assert not out.isnan().any()
    assert torch.equal(out[1, :, :2], torch.zeros(2, 2, 8))  # padded queries see only padded keys
    assert out[1, :, 2:].abs().sum() > 0


def test_causal_mask_is_aligned_to_the_last_positions():
    assert torch.equal(causal_mask(3, 3), torch.tensor([[1, 0, 0], [1, 1, 0], [1, 1, 1]], dtype=torch.bool))
    mask = causal_mask(2, 5)  # two new tokens at positions 3 and 4
    assert torch.equal(mask, torch.tensor([[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]], dtype=torch.bool))
    with pytest.raises(ValueError, match="3 queries cannot be the last positions of only 2 keys"):
        causal_mask(3, 2)


def test_padding_masks_right_and_left():
    right = padding_mask(torch.tensor([3, 0, 1]), 3)
    assert right.tolist() == [[True, True, True], [False, False, False], [True, False, False]]
    left = padding_mask(torch.tensor([1, 2]), 3, left=True)
    assert left.tolist() == [[False, False, True], [False, True, True]]
    for bad in (torch.tensor([4]), torch.tensor([-1]), torch.tensor([[1]])):
        with pytest.raises(ValueError, match="lengths"):
            padding_mask(bad, 3)


def test_bad_shapes_are_clear_errors():
    q, k, v = qkv((1, 6, 4, 3, 3, 8))
    assert sdpa(q, k[:, :3], v[:, :3]).shape == q.shape  # 6 heads over 3 KV heads is fine
    with pytest.raises(ValueError, match="6 query heads cannot share 4 key/value heads"):
        sdpa(q, k, v)
    with pytest.raises(ValueError, match="do not match"):
        sdpa(q, k[:, :3], v[:, :3, :2])
    with pytest.raises(ValueError, match="4-D"):
        sdpa(q[0], k[0], v[0])


def mha_reference(attention: MultiHeadAttention, x: torch.Tensor, rope_base: float | None = None) -> torch.Tensor:
    """The same module computed with torch's SDPA and Hugging Face Llama's rotate_half RoPE."""
    b, t, c = x.shape
    h, h_kv, d = attention.n_heads, attention.n_kv_heads, attention.head_dim
    q = F.linear(x, attention.q_proj.weight, attention.q_proj.bias).view(b, t, h, d).transpose(1, 2)
    k = F.linear(x, attention.k_proj.weight, attention.k_proj.bias).view(b, t, h_kv, d).transpose(1, 2)
    v = F.linear(x, attention.v_proj.weight, attention.v_proj.bias).view(b, t, h_kv, d).transpose(1, 2)
    if rope_base is not None:
        inv_freq = 1.0 / rope_base ** (torch.arange(0, d, 2, dtype=torch.float64) / d)
        angles = torch.cat([torch.arange(t)[:, None] * inv_freq] * 2, dim=-1).float()

        def rotate_half(z):
            return torch.cat((-z[..., d // 2 :], z[..., : d // 2]), dim=-1)

        q = q * angles.cos() + rotate_half(q) * angles.sin()
        k = k * angles.cos() + rotate_half(k) * angles.sin()
    y = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=h != h_kv)
    return F.linear(y.transpose(1, 2).reshape(b, t, c), attention.o_proj.weight, attention.o_proj.bias)


@pytest.mark.parametrize(("n_heads", "n_kv_heads", "bias", "rope_base"),
                         [(4, None, True, None), (4, 2, False, None), (9, 3, False, 100000.0), (4, 1, True, 10000.0)])
def test_multi_head_attention_matches_torch(n_heads, n_kv_heads, bias, rope_base):
    torch.manual_seed(0)
    d_model = 36 if n_heads == 9 else 32
    rope = None if rope_base is None else RotaryEmbedding(d_model // n_heads, 64, rope_base)
    attention = MultiHeadAttention(d_model, n_heads, n_kv_heads, bias=bias, rope=rope)
    assert attention.k_proj.out_features == (n_kv_heads or n_heads) * (d_model // n_heads)
    assert (attention.q_proj.bias is not None) == bias
    x = torch.randn(2, 11, d_model)
    torch.testing.assert_close(attention(x), mha_reference(attention, x, rope_base), rtol=0, atol=1e-5)


def test_multi_head_attention_is_causal_and_honours_padding():
    torch.manual_seed(1)
    attention = MultiHeadAttention(16, 4, 2)
    x = torch.randn(1, 8, 16)
    changed = x.clone()
    changed[:, 5:] = torch.randn(1, 3, 16)
    torch.testing.assert_close(attention(x)[:, :5], attention(changed)[:, :5])  # the past ignores the future
    # Left padding: positions 0 and 1 are padding. Without RoPE the module sees no positions, so the
    # real tokens must give what they give alone; the padded queries see nothing (zeros + output bias).
    keep = torch.tensor([[False] * 2 + [True] * 6])
    padded = attention(changed, padding_mask=keep)
    torch.testing.assert_close(padded[:, 2:], attention(changed[:, 2:]), rtol=0, atol=1e-6)
    torch.testing.assert_close(padded[0, :2], attention.o_proj.bias.expand(2, 16))
    with pytest.raises(ValueError, match="padding_mask must be"):
        attention(x, padding_mask=keep[:, :5])


@pytest.mark.parametrize(("d_model", "n_heads", "n_kv_heads"), [(30, 4, None), (32, 4, 3), (32, 0, None), (32, 4, 0)])
def test_bad_head_counts_are_clear_errors(d_model, n_heads, n_kv_heads):
    assert MultiHeadAttention(32, 8, 4).head_dim == 4
    with pytest.raises(ValueError, match="divisible"):
        MultiHeadAttention(d_model, n_heads, n_kv_heads)


def test_rope_must_fit_the_head_size():
    assert MultiHeadAttention(32, 4, rope=RotaryEmbedding(8, 16)).rope is not None
    with pytest.raises(ValueError, match="RoPE is built for heads of 16"):
        MultiHeadAttention(32, 4, rope=RotaryEmbedding(16, 16))
