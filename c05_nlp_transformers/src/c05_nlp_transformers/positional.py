"""Positional encodings: how a transformer knows the order of its tokens.

Attention by itself is permutation-invariant: shuffle the keys and values together and the
output does not change. Three ways to break that symmetry:

* **Sinusoidal** (Vaswani et al. 2017): add a fixed vector to each token embedding,
  ``PE[p, 2i] = sin(p / base^(2i/C))`` and ``PE[p, 2i+1] = cos(p / base^(2i/C))``. No parameters;
  each pair of channels is a clock at its own frequency.
* **Learned** (GPT-2): add a trained vector per position, an ``nn.Embedding(max_positions, C)``.
  Simple and good, but it knows nothing about positions it never saw.
* **Rotary, RoPE** (Su et al. 2021; Llama, SmolLM2): do not add anything to the embeddings;
  rotate each query and key instead. Channel pair ``i`` of a vector at position ``m`` is rotated by
  the angle ``m * theta_i`` with ``theta_i = base^(-2i/D)``. A dot product of two rotated vectors
  depends on the difference of their angles, so the attention score between positions ``m`` and
  ``n`` depends only on ``m - n``: relative positions, for free. ``base`` sets the slowest clock
  (10000 in the paper, 100000 in SmolLM2, for longer contexts).

Two layouts of the channel pairs exist: *half-split* (pairs ``(i, i + D/2)``; "rotate_half",
used by Hugging Face Llama) and *interleaved* (pairs ``(2i, 2i+1)``, as in the paper and
llama.cpp). They are the same rotation on permuted channels; :class:`RotaryEmbedding` does both.
All positions are absolute token indices, ``(T,)`` long tensors, so a KV cache can ask for the
positions ``L .. L+T-1`` after ``L`` cached tokens.
"""

from __future__ import annotations

import torch
from torch import nn


def _check_dim_and_base(dim: int, base: float) -> None:
    if dim <= 0 or dim % 2:
        raise ValueError(f"the dimension must be a positive even number, got {dim}")
    if not base > 0:
        raise ValueError(f"the base must be positive, got {base}")


def sinusoidal_table(n_positions: int, dim: int, base: float = 10000.0) -> torch.Tensor:
    """The (n_positions, dim) float32 table: sin on even channels, cos on odd ones."""
    # BEGIN SOLUTION c05.2: angles p * base^(-2i/dim) in float64, sin into even channels, cos into odd ones
    _check_dim_and_base(dim, base)
    positions = torch.arange(n_positions, dtype=torch.float64)[:, None]  # (P, 1)
    inv_freq = base ** (-torch.arange(0, dim, 2, dtype=torch.float64) / dim)  # (dim/2,)
    angles = positions * inv_freq  # (P, dim/2)
    table = torch.empty(n_positions, dim, dtype=torch.float64)
    table[:, 0::2] = torch.sin(angles)
    table[:, 1::2] = torch.cos(angles)
    return table.float()
    # END SOLUTION


def _check_positions(positions: torch.Tensor, max_positions: int) -> None:
    if positions.numel() and (int(positions.min()) < 0 or int(positions.max()) >= max_positions):
        raise ValueError(
            f"positions {int(positions.min())}..{int(positions.max())} are outside the table of "
            f"{max_positions} positions (the model's context)"
        )


class SinusoidalPositionalEncoding(nn.Module):
    """Fixed sinusoidal vectors: ``forward(positions (T,)) -> (T, C)``, to add to the embeddings."""

    table: torch.Tensor

    def __init__(self, max_positions: int, dim: int, base: float = 10000.0) -> None:
        super().__init__()
        self.max_positions = max_positions
        self.register_buffer("table", sinusoidal_table(max_positions, dim, base), persistent=False)

    def forward(self, positions: torch.Tensor) -> torch.Tensor:
        # BEGIN SOLUTION c05.2: check the positions against the table, then index it
        _check_positions(positions, self.max_positions)
        return self.table[positions]  # (T, C)
        # END SOLUTION


class LearnedPositionalEmbedding(nn.Module):
    """One trained vector per position: ``forward(positions (T,)) -> (T, C)``."""

    def __init__(self, max_positions: int, dim: int) -> None:
        super().__init__()
        self.max_positions = max_positions
        self.weight = nn.Parameter(torch.zeros(max_positions, dim))
        nn.init.normal_(self.weight, std=0.02)

    def forward(self, positions: torch.Tensor) -> torch.Tensor:
        # BEGIN SOLUTION c05.2: check the positions, then look their rows up
        _check_positions(positions, self.max_positions)
        return self.weight[positions]  # (T, C)
        # END SOLUTION


class RotaryEmbedding(nn.Module):
    """Rotary position embedding for one attention head size.

    ``forward(x (B, H, T, D), positions (T,))`` returns ``x`` with channel pair ``i`` of the vector at
    position ``m`` rotated by ``m * base^(-2i/D)``. The cos/sin tables for ``max_positions`` are
    computed once in float64 and kept in float64 (cast to the input's dtype on use), so the
    rotation angles are exact to double precision even far into the context.

    Args:
        head_dim: D, even.
        max_positions: the longest context the tables cover.
        base: the frequency base (10000 in the paper; Llama 3 and SmolLM2 use larger ones).
        interleaved: pairs ``(2i, 2i+1)`` instead of the half-split pairs ``(i, i + D/2)``.
    """

    cos: torch.Tensor
    sin: torch.Tensor

    def __init__(self, head_dim: int, max_positions: int, base: float = 10000.0, *, interleaved: bool = False) -> None:
        super().__init__()
        self.head_dim, self.max_positions, self.base, self.interleaved = head_dim, max_positions, base, interleaved
        # BEGIN SOLUTION c05.2: check D and base, angles m * theta_i, cos and sin as (P, D/2) buffers
        _check_dim_and_base(head_dim, base)
        inv_freq = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)  # (D/2,)
        angles = torch.arange(max_positions, dtype=torch.float64)[:, None] * inv_freq  # (P, D/2)
        self.register_buffer("cos", torch.cos(angles), persistent=False)
        self.register_buffer("sin", torch.sin(angles), persistent=False)
        # END SOLUTION

    def forward(self, x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        # BEGIN SOLUTION c05.2: rotate each channel pair (x1, x2) to (x1 cos - x2 sin, x1 sin + x2 cos)
        if x.shape[-1] != self.head_dim:
            raise ValueError(f"expected vectors of size {self.head_dim}, got {x.shape[-1]}")
        if x.shape[-2] != positions.shape[-1]:
            raise ValueError(f"{x.shape[-2]} vectors but {positions.shape[-1]} positions")
        _check_positions(positions, self.max_positions)
        cos = self.cos[positions].to(x.dtype)  # (T, D/2)
        sin = self.sin[positions].to(x.dtype)
        if self.interleaved:
            x1, x2 = x[..., 0::2], x[..., 1::2]  # (B, H, T, D/2) each
            rotated = torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)  # (B, H, T, D/2, 2)
            return rotated.flatten(-2)  # (B, H, T, D)
        half = self.head_dim // 2
        x1, x2 = x[..., :half], x[..., half:]
        return torch.cat((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)  # (B, H, T, D)
        # END SOLUTION
