"""c05.2: sinusoidal, learned and rotary position encodings.

Oracles: the sinusoidal formula evaluated with Python's math module; RoPE written two other ways
(complex multiplication for the interleaved layout, Hugging Face Llama's rotate_half for the
half-split one); and RoPE's defining property, that the score between a query at m and a key at n
depends only on m - n.
"""

from __future__ import annotations

import math

import pytest
import torch

from c05_nlp_transformers import (
    LearnedPositionalEmbedding,
    RotaryEmbedding,
    SinusoidalPositionalEncoding,
    sinusoidal_table,
)

pytestmark = pytest.mark.task("c05.2")

# float64 throughout for RoPE: rotations are exact to ~1e-16 per operation, so the relative-position
# property holds to well under 1e-9 for vectors of norm ~4 and angles up to ~500 radians.
ROPE_DTYPE = torch.float64
# Rotating in float32 loses ~1e-7 relative per element.
FLOAT32_TOLERANCE = 1e-5


def test_sinusoidal_table_matches_the_formula(metric):
    n_positions, dim, base = 50, 16, 10000.0
    table = sinusoidal_table(n_positions, dim, base)
    assert table.shape == (n_positions, dim) and table.dtype == torch.float32
    error = 0.0
    for p in range(n_positions):
        for i in range(dim // 2):
            angle = p / base ** (2 * i / dim)
            error = max(error, abs(table[p, 2 * i].item() - math.sin(angle)))
            error = max(error, abs(table[p, 2 * i + 1].item() - math.cos(angle)))
    metric("sinusoidal_max_abs_error", error)
    assert torch.equal(table[0, 0::2], torch.zeros(dim // 2)) and torch.equal(table[0, 1::2], torch.ones(dim // 2))


def test_sinusoidal_module_indexes_positions():
    encoding = SinusoidalPositionalEncoding(32, 8, base=100.0)
    positions = torch.tensor([5, 6, 7])
    torch.testing.assert_close(encoding(positions), sinusoidal_table(32, 8, 100.0)[5:8])
    assert not list(encoding.parameters())  # nothing to train
    with pytest.raises(ValueError, match="outside the table of 32 positions"):
        encoding(torch.tensor([31, 32]))


def test_learned_embedding_is_a_trained_table():
    torch.manual_seed(0)
    embedding = LearnedPositionalEmbedding(16, 4)
    positions = torch.arange(3, 6)
    out = embedding(positions)
    torch.testing.assert_close(out, embedding.weight[3:6])
    out.sum().backward()
    assert embedding.weight.grad is not None
    assert embedding.weight.grad[3:6].abs().sum() > 0 and embedding.weight.grad[:3].abs().sum() == 0
    with pytest.raises(ValueError, match="outside the table"):
        embedding(torch.tensor([-1]))
    with pytest.raises(ValueError, match="outside the table"):
        embedding(torch.tensor([16]))


def rope_scores(rope: RotaryEmbedding, q: torch.Tensor, k: torch.Tensor, m: int, n: int) -> float:
    """Score of query q at position m against key k at position n, after rotation."""
    q_rot = rope(q[None, None, None, :], torch.tensor([m]))[0, 0, 0]
    k_rot = rope(k[None, None, None, :], torch.tensor([n]))[0, 0, 0]
    return float(q_rot @ k_rot)


@pytest.mark.parametrize("interleaved", [False, True], ids=["half-split", "interleaved"])
@pytest.mark.parametrize("base", [10000.0, 100000.0])
def test_rope_score_depends_only_on_the_offset(metric, interleaved, base):
    generator = torch.Generator().manual_seed(0)
    head_dim = 16
    rope = RotaryEmbedding(head_dim, 600, base, interleaved=interleaved)
    worst = 0.0
    for _ in range(5):
        q = torch.randn(head_dim, generator=generator, dtype=ROPE_DTYPE)
        k = torch.randn(head_dim, generator=generator, dtype=ROPE_DTYPE)
        for offset in (-7, 0, 3, 40):  # m - n
            reference = rope_scores(rope, q, k, 100 + offset, 100)
            for n in (7, 8, 17, 250, 500):
                worst = max(worst, abs(rope_scores(rope, q, k, n + offset, n) - reference))
        assert abs(rope_scores(rope, q, k, 5, 5) - float(q @ k)) < 1e-12  # offset 0 is the plain dot product
        assert abs(rope_scores(rope, q, k, 9, 2) - rope_scores(rope, q, k, 2, 9)) > 1e-6  # sign of the offset matters
    metric("rope_relative_max_abs_error", worst)


def test_rope_interleaved_equals_complex_rotation():
    head_dim, base = 8, 10000.0
    rope = RotaryEmbedding(head_dim, 64, base, interleaved=True)
    x = torch.randn(2, 3, 5, head_dim, dtype=ROPE_DTYPE, generator=torch.Generator().manual_seed(1))
    positions = torch.tensor([0, 1, 7, 30, 63])
    pairs = torch.view_as_complex(x.reshape(2, 3, 5, head_dim // 2, 2).contiguous())
    theta = base ** (-torch.arange(0, head_dim, 2, dtype=ROPE_DTYPE) / head_dim)
    expected = torch.view_as_real(pairs * torch.polar(torch.ones(5, head_dim // 2, dtype=ROPE_DTYPE),
                                                      positions[:, None] * theta)).reshape(x.shape)
    torch.testing.assert_close(rope(x, positions), expected, rtol=0, atol=1e-12)


def test_rope_half_split_equals_llama_rotate_half():
    head_dim, base = 8, 100000.0
    rope = RotaryEmbedding(head_dim, 64, base)
    x = torch.randn(1, 2, 4, head_dim, dtype=ROPE_DTYPE, generator=torch.Generator().manual_seed(2))
    positions = torch.tensor([3, 4, 5, 6])
    inv_freq = 1.0 / base ** (torch.arange(0, head_dim, 2, dtype=ROPE_DTYPE) / head_dim)
    angles = torch.cat([positions[:, None] * inv_freq] * 2, dim=-1)  # (T, D) as in transformers' Llama

    def rotate_half(t: torch.Tensor) -> torch.Tensor:
        return torch.cat((-t[..., head_dim // 2 :], t[..., : head_dim // 2]), dim=-1)

    expected = x * angles.cos() + rotate_half(x) * angles.sin()
    torch.testing.assert_close(rope(x, positions), expected, rtol=0, atol=1e-12)


def test_rope_keeps_norms_and_dtype_and_is_identity_at_position_zero():
    rope = RotaryEmbedding(16, 128, 10000.0)
    x = torch.randn(2, 4, 10, 16, generator=torch.Generator().manual_seed(3))  # float32
    rotated = rope(x, torch.arange(100, 110))
    assert rotated.dtype == torch.float32 and rotated.shape == x.shape
    torch.testing.assert_close(rotated.norm(dim=-1), x.norm(dim=-1), rtol=FLOAT32_TOLERANCE, atol=FLOAT32_TOLERANCE)
    torch.testing.assert_close(rope(x[:, :, :1], torch.tensor([0])), x[:, :, :1])
    assert not torch.allclose(rotated, x)


def test_rope_layouts_are_the_same_rotation_on_permuted_channels():
    head_dim = 8
    x = torch.randn(1, 1, 6, head_dim, dtype=ROPE_DTYPE, generator=torch.Generator().manual_seed(4))
    positions = torch.arange(6)
    half = RotaryEmbedding(head_dim, 16)(x, positions)
    to_interleaved = torch.tensor([0, 4, 1, 5, 2, 6, 3, 7])  # channel i pairs with i + D/2
    interleaved = RotaryEmbedding(head_dim, 16, interleaved=True)(x[..., to_interleaved], positions)
    torch.testing.assert_close(interleaved, half[..., to_interleaved], rtol=0, atol=1e-12)


@pytest.mark.parametrize("head_dim, base", [(7, 10000.0), (0, 10000.0), (8, 0.0), (8, -1.0)])
def test_bad_dimensions_and_bases_are_clear_errors(head_dim, base):
    assert RotaryEmbedding(8, 4).cos.shape == (4, 4)
    with pytest.raises(ValueError, match=r"positive even|base must be positive"):
        RotaryEmbedding(head_dim, 16, base)
    with pytest.raises(ValueError, match=r"positive even|base must be positive"):
        sinusoidal_table(16, head_dim, base)


def test_rope_rejects_mismatched_inputs():
    rope = RotaryEmbedding(8, 16)
    assert rope(torch.zeros(1, 1, 2, 8), torch.tensor([0, 1])).shape == (1, 1, 2, 8)
    with pytest.raises(ValueError, match="expected vectors of size 8"):
        rope(torch.zeros(1, 1, 2, 6), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="2 vectors but 3 positions"):
        rope(torch.zeros(1, 1, 2, 8), torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="outside the table of 16 positions"):
        rope(torch.zeros(1, 1, 2, 8), torch.tensor([15, 16]))
