"""A preallocated key/value cache: generate token t+1 without recomputing tokens 0..t.

In a causal transformer the keys and values of a token never change once computed: later
tokens cannot influence earlier ones. So generation can keep them. After a *prefill* of
the prompt (all its tokens in one forward pass), each *decode* step feeds one new token,
computes its query, key and value, appends the key and value to the cache, and attends
over everything cached. The work per new token no longer grows with the prefix length
(only the attention over the cached keys does, which is cheap next to the matmuls).

The buffers are allocated once, at their final size ``(max_batch, n_kv_heads, max_len,
head_dim)`` per layer, and filled in place: no ``torch.cat`` that copies the whole cache for
every token. With grouped-query attention the cache holds ``n_kv_heads``, not ``n_heads``: that
is the point of GQA (SmolLM2: 3 KV heads for 9 query heads, a cache 3 x smaller).

``length`` is the number of positions filled, so the next token's position (for RoPE or a
learned position embedding) is ``length``. All rows of a batch advance together.
"""

from __future__ import annotations

import torch


class LayerKVCache:
    """One layer's keys and values: two (max_batch, n_kv_heads, max_len, head_dim) buffers."""

    k: torch.Tensor  # (max_batch, n_kv_heads, max_len, head_dim)
    v: torch.Tensor
    length: int  # positions filled
    batch: int | None  # rows in use, fixed by the first update until reset()

    def __init__(
        self,
        max_batch: int,
        n_kv_heads: int,
        max_len: int,
        head_dim: int,
        *,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> None:
        self.max_batch, self.n_kv_heads, self.max_len, self.head_dim = max_batch, n_kv_heads, max_len, head_dim
        # BEGIN SOLUTION c05.5: check the sizes, allocate both buffers at full size; nothing cached yet
        if min(max_batch, n_kv_heads, max_len, head_dim) < 1:
            raise ValueError("every dimension of a KV cache must be at least 1")
        shape = (max_batch, n_kv_heads, max_len, head_dim)
        self.k = torch.zeros(shape, dtype=dtype, device=device)
        self.v = torch.zeros(shape, dtype=dtype, device=device)
        self.length = 0
        self.batch = None
        # END SOLUTION

    def update(self, k_new: torch.Tensor, v_new: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append (B, n_kv_heads, T, head_dim) keys and values; return all cached ones, (B, n_kv_heads, L+T, head_dim).

        The returned tensors are views of the buffers (no copy). ValueError when the shapes do not
        fit the cache, the batch size changed, or the cache would overflow.
        """
        # BEGIN SOLUTION c05.5: validate, write slots length..length+T, advance length, return views
        if k_new.shape != v_new.shape or k_new.dim() != 4:
            raise ValueError(f"keys {tuple(k_new.shape)} and values {tuple(v_new.shape)} must be equal 4-D shapes")
        batch, heads, t_new, head_dim = k_new.shape
        if heads != self.n_kv_heads or head_dim != self.head_dim:
            raise ValueError(
                f"the cache holds {self.n_kv_heads} heads of size {self.head_dim}, got {heads} of size {head_dim}"
            )
        if batch > self.max_batch or (self.batch is not None and batch != self.batch):
            raise ValueError(f"batch of {batch} rows does not fit this cache (max {self.max_batch}, now {self.batch})")
        end = self.length + t_new
        if end > self.max_len:
            raise ValueError(
                f"KV cache overflow: {self.length} cached + {t_new} new positions > max_len {self.max_len} "
                "(the model's context)"
            )
        self.k[:batch, :, self.length : end] = k_new
        self.v[:batch, :, self.length : end] = v_new
        self.length, self.batch = end, batch
        return self.k[:batch, :, :end], self.v[:batch, :, :end]
        # END SOLUTION

    def reset(self) -> None:
        """Forget every cached position (the buffers stay allocated)."""
        # BEGIN SOLUTION c05.5: rewind the length and free the batch size
        self.length = 0
        self.batch = None
        # END SOLUTION


class KVCache:
    """The caches of every layer of a model; ``cache[i]`` is layer ``i``'s :class:`LayerKVCache`."""

    def __init__(
        self,
        n_layers: int,
        max_batch: int,
        n_kv_heads: int,
        max_len: int,
        head_dim: int,
        *,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> None:
        if n_layers < 1:
            raise ValueError(f"a KV cache needs at least one layer, got {n_layers}")
        self.layers = [
            LayerKVCache(max_batch, n_kv_heads, max_len, head_dim, dtype=dtype, device=device) for _ in range(n_layers)
        ]

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, layer: int) -> LayerKVCache:
        return self.layers[layer]

    @property
    def length(self) -> int:
        """Positions cached so far (the same in every layer between forward passes)."""
        return self.layers[0].length

    @property
    def max_len(self) -> int:
        return self.layers[0].max_len

    def reset(self) -> None:
        for layer in self.layers:
            layer.reset()

    def nbytes(self) -> int:
        """Memory held by the buffers: 2 x layers x max_batch x n_kv_heads x max_len x head_dim x itemsize."""
        return sum(layer.k.nbytes + layer.v.nbytes for layer in self.layers)
