"""Attention: scaled dot-product, causal and padding masks, multi-head and grouped-query.

For one head, queries Q (T, D), keys K (S, D) and values V (S, D)::

    scores  = Q @ K^T / sqrt(D)          # (T, S): how well query t matches key s
    weights = softmax(scores + mask)     # each row sums to 1 over the keys it may see
    out     = weights @ V                # (T, D): a weighted average of the values

Masks say which keys a query may see (``True`` = visible):

* **causal**: token t sees only keys at positions <= t, so a language model cannot peek at the
  future. With a KV cache the T queries are the *last* T of S positions, so query i sits at
  absolute position ``S - T + i`` (the mask is aligned bottom-right);
* **padding**: a batch of sequences of different lengths is padded to one length; keys at
  padded positions are hidden from every query.

A query that sees no key at all (a padded query in a left-padded row) gets an output of zeros,
as ``torch.nn.functional.scaled_dot_product_attention`` gives, instead of the NaN of a softmax
over nothing.

**Multi-head** attention runs H heads of size D = C / H in parallel on different projections and
concatenates them. **Grouped-query attention** (GQA) keeps H query heads but only H_kv < H key/value
heads: each group of H / H_kv query heads shares one key/value head (query head h uses KV head
``h // (H / H_kv)``). Fewer KV heads mean a smaller KV cache; H_kv = H is multi-head attention and
H_kv = 1 is multi-query attention. :class:`MultiHeadAttention` is the one attention of this module:
with or without RoPE, a KV cache, padding, and any H_kv dividing H (the GPT of c05.4 and the Llama
of part 2 both use it).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from c05_nlp_transformers.kv_cache import LayerKVCache
from c05_nlp_transformers.positional import RotaryEmbedding


def causal_mask(t_query: int, t_key: int, device: torch.device | str | None = None) -> torch.Tensor:
    """(T, S) bool, True where query i (at absolute position S - T + i) may see key j: j <= S - T + i."""
    # BEGIN SOLUTION c05.3: a lower-triangular mask shifted right by S - T
    if t_query > t_key:
        raise ValueError(f"{t_query} queries cannot be the last positions of only {t_key} keys")
    return torch.ones(t_query, t_key, dtype=torch.bool, device=device).tril(diagonal=t_key - t_query)
    # END SOLUTION


def padding_mask(lengths: torch.Tensor, t_key: int, *, left: bool = False) -> torch.Tensor:
    """(B, S) bool, True at real tokens: the first ``lengths[b]`` positions (the last ones if ``left``)."""
    # BEGIN SOLUTION c05.3: compare each position with the row's length
    if lengths.dim() != 1 or bool((lengths < 0).any()) or bool((lengths > t_key).any()):
        raise ValueError(f"lengths must be a 1-D tensor of values in 0..{t_key}")
    positions = torch.arange(t_key, device=lengths.device)  # (S,)
    if left:
        return positions[None, :] >= (t_key - lengths)[:, None]  # (B, S)
    return positions[None, :] < lengths[:, None]  # (B, S)
    # END SOLUTION


def scaled_dot_product_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    mask: torch.Tensor | None = None,
    is_causal: bool = False,
    scale: float | None = None,
) -> torch.Tensor:
    """softmax(Q K^T * scale + mask) V for every batch row and head, with GQA.

    Args:
        q: (B, H, T, D) queries.
        k, v: (B, H_kv, S, D) keys and values; H must be a multiple of H_kv.
        mask: bool, broadcastable to (B, H, T, S); True = visible. Combined with ``is_causal``.
        is_causal: hide future keys (query i at position S - T + i; see :func:`causal_mask`).
        scale: default 1 / sqrt(D).

    Returns:
        (B, H, T, D); rows that see no key are zeros.
    """
    # BEGIN SOLUTION c05.3: check shapes, repeat KV heads for GQA, scores, mask, softmax, weighted sum
    if q.dim() != 4 or k.dim() != 4 or v.dim() != 4:
        raise ValueError("q, k and v must be 4-D: (batch, heads, positions, head_dim)")
    batch, n_heads, t_query, head_dim = q.shape
    n_kv_heads, t_key = k.shape[1], k.shape[2]
    if k.shape != v.shape or k.shape[0] != batch or k.shape[3] != head_dim:
        raise ValueError(f"keys {tuple(k.shape)} and values {tuple(v.shape)} do not match queries {tuple(q.shape)}")
    if n_heads % n_kv_heads:
        raise ValueError(f"{n_heads} query heads cannot share {n_kv_heads} key/value heads evenly")
    group = n_heads // n_kv_heads
    if group > 1:  # query head h reads KV head h // group
        k = k.repeat_interleave(group, dim=1)  # (B, H, S, D)
        v = v.repeat_interleave(group, dim=1)
    scale = 1.0 / math.sqrt(head_dim) if scale is None else scale
    scores = (q @ k.transpose(-2, -1)) * scale  # (B, H, T, S)
    visible = None if mask is None else mask.to(torch.bool)
    if is_causal:
        causal = causal_mask(t_query, t_key, q.device)  # (T, S)
        visible = causal if visible is None else visible & causal
    if visible is None:
        return torch.softmax(scores, dim=-1) @ v  # (B, H, T, D)
    scores = scores.masked_fill(~visible, float("-inf"))
    weights = torch.softmax(scores, dim=-1)  # (B, H, T, S); NaN in rows that see nothing
    weights = weights.masked_fill(~visible.any(dim=-1, keepdim=True), 0.0)
    return weights @ v  # (B, H, T, D)
    # END SOLUTION


class MultiHeadAttention(nn.Module):
    """Multi-head (or grouped-query) self-attention with optional RoPE and KV cache.

    Args:
        d_model: C, the width of the residual stream.
        n_heads: H query heads; the head size is C / H.
        n_kv_heads: H_kv key/value heads (default H); must divide H.
        bias: biases on the four projections (GPT-2 has them, Llama does not).
        rope: rotate queries and keys by their positions (None: positions come from elsewhere,
            e.g. a learned embedding added to the input).
        dropout: dropout on the output projection, in training only.

    The projections are named ``q_proj``, ``k_proj``, ``v_proj`` and ``o_proj`` as in Llama checkpoints.
    """

    d_model: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    rope: RotaryEmbedding | None
    q_proj: nn.Linear
    k_proj: nn.Linear
    v_proj: nn.Linear
    o_proj: nn.Linear
    dropout: nn.Dropout

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        n_kv_heads: int | None = None,
        *,
        bias: bool = True,
        rope: RotaryEmbedding | None = None,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        n_kv_heads = n_heads if n_kv_heads is None else n_kv_heads
        # BEGIN SOLUTION c05.3: check the head counts, create the four projections
        if n_heads < 1 or n_kv_heads < 1 or d_model % n_heads or n_heads % n_kv_heads:
            raise ValueError(
                f"need d_model ({d_model}) divisible by n_heads ({n_heads}) and n_heads divisible by "
                f"n_kv_heads ({n_kv_heads})"
            )
        self.d_model, self.n_heads, self.n_kv_heads = d_model, n_heads, n_kv_heads
        self.head_dim = d_model // n_heads
        if rope is not None and rope.head_dim != self.head_dim:
            raise ValueError(f"RoPE is built for heads of {rope.head_dim}, these heads have {self.head_dim}")
        self.rope = rope
        self.q_proj = nn.Linear(d_model, n_heads * self.head_dim, bias=bias)
        self.k_proj = nn.Linear(d_model, n_kv_heads * self.head_dim, bias=bias)
        self.v_proj = nn.Linear(d_model, n_kv_heads * self.head_dim, bias=bias)
        self.o_proj = nn.Linear(n_heads * self.head_dim, d_model, bias=bias)
        self.dropout = nn.Dropout(dropout)
        # END SOLUTION

    def forward(
        self,
        x: torch.Tensor,
        *,
        padding_mask: torch.Tensor | None = None,
        kv_cache: LayerKVCache | None = None,
    ) -> torch.Tensor:
        """Causal self-attention of x (B, T, C) -> (B, T, C).

        ``padding_mask``: (B, S) bool over every key position (cached ones first), True at real tokens.
        ``kv_cache``: this layer's cache; the T new tokens sit at positions ``cache.length ..``.
        """
        # BEGIN SOLUTION c05.3: project, split heads, RoPE at the new positions, cache, attend, merge heads
        batch, t_new, _ = x.shape  # (B, T, C)
        start = 0 if kv_cache is None else kv_cache.length
        q = self.q_proj(x).view(batch, t_new, self.n_heads, self.head_dim).transpose(1, 2)  # (B, H, T, D)
        k = self.k_proj(x).view(batch, t_new, self.n_kv_heads, self.head_dim).transpose(1, 2)  # (B, H_kv, T, D)
        v = self.v_proj(x).view(batch, t_new, self.n_kv_heads, self.head_dim).transpose(1, 2)  # (B, H_kv, T, D)
        if self.rope is not None:
            positions = torch.arange(start, start + t_new, device=x.device)  # (T,)
            q, k = self.rope(q, positions), self.rope(k, positions)
        if kv_cache is not None:
            k, v = kv_cache.update(k, v)  # (B, H_kv, S, D) with S = start + T
        mask = None
        if padding_mask is not None:
            if padding_mask.shape != (batch, k.shape[2]):
                raise ValueError(f"padding_mask must be (batch, keys) = {(batch, k.shape[2])}, got "
                                 f"{tuple(padding_mask.shape)}")
            mask = padding_mask[:, None, None, :]  # (B, 1, 1, S)
        y = scaled_dot_product_attention(q, k, v, mask=mask, is_causal=True)  # (B, H, T, D)
        y = y.transpose(1, 2).reshape(batch, t_new, self.n_heads * self.head_dim)  # (B, T, C)
        out: torch.Tensor = self.dropout(self.o_proj(y))  # (B, T, C)
        return out
        # END SOLUTION
