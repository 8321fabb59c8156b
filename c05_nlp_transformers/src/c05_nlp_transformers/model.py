"""A GPT: a stack of pre-norm decoder blocks over token and position embeddings (nanoGPT style).

::

    idx (B, T) -> token embedding (B, T, C) [+ position embedding (T, C)]
               -> N x Block:  x = x + attn(ln_1(x));  x = x + mlp(ln_2(x))
               -> ln_f -> lm_head -> logits (B, T, V)

* **Pre-norm**: each sub-layer normalises its *input* and adds its output to the residual
  stream, which itself is never normalised; gradients flow straight down the residual path, so
  deep stacks train without warm-up tricks (GPT-2; the original transformer normalised after).
* **Weight tying**: ``lm_head.weight`` *is* the token embedding matrix (one tensor, V x C),
  used to read tokens in and to score them out; it saves V x C parameters and trains better on
  small data.
* **Initialisation** as in GPT-2: N(0, 0.02), and the projections that write into the residual
  stream scaled by 1 / sqrt(2 N) so the stream's variance does not grow with depth.

``positional`` picks ``"learned"`` (GPT-2, the reference), ``"sinusoidal"`` or ``"rope"`` (no
position vector is added; attention rotates queries and keys). With a :class:`KVCache` the model
processes only the new tokens; their positions start at the cache's length.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from c05_nlp_transformers.attention import MultiHeadAttention
from c05_nlp_transformers.kv_cache import KVCache, LayerKVCache
from c05_nlp_transformers.positional import LearnedPositionalEmbedding, RotaryEmbedding, SinusoidalPositionalEncoding

Positional = Literal["learned", "sinusoidal", "rope"]


@dataclass(frozen=True)
class GPTConfig:
    """Shape of a GPT. The defaults are the c05.4 reference configuration (char level)."""

    vocab_size: int = 65
    block_size: int = 64  # the context: the most positions one forward pass may see
    n_layer: int = 4
    n_head: int = 4
    n_kv_head: int | None = None  # None: as many as n_head (multi-head attention)
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = False  # biases in the linear layers and LayerNorms (nanoGPT's default: none)
    positional: Positional = "learned"
    rope_base: float = 10000.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class MLP(nn.Module):
    """Position-wise feed-forward: C -> 4C -> GELU -> C."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # BEGIN SOLUTION c05.4: expand to 4C, GELU, project back to C
        out: torch.Tensor = self.dropout(self.c_proj(F.gelu(self.c_fc(x))))  # (B, T, C)
        return out
        # END SOLUTION


class Block(nn.Module):
    """One pre-norm decoder block: attention then MLP, each on a normalised input, each added back."""

    def __init__(self, config: GPTConfig, rope: RotaryEmbedding | None) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = MultiHeadAttention(
            config.n_embd, config.n_head, config.n_kv_head, bias=config.bias, rope=rope, dropout=config.dropout
        )
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(
        self, x: torch.Tensor, padding_mask: torch.Tensor | None = None, kv_cache: LayerKVCache | None = None
    ) -> torch.Tensor:
        # BEGIN SOLUTION c05.4: two pre-norm residual sub-layers
        x = x + self.attn(self.ln_1(x), padding_mask=padding_mask, kv_cache=kv_cache)  # (B, T, C)
        out: torch.Tensor = x + self.mlp(self.ln_2(x))  # (B, T, C)
        return out
        # END SOLUTION


class GPT(nn.Module):
    """A decoder-only transformer language model (see the module docstring)."""

    wte: nn.Embedding  # (V, C) token embedding, shared with lm_head
    wpe: nn.Module | None  # learned or sinusoidal positions; None with RoPE
    drop: nn.Dropout
    blocks: nn.ModuleList
    ln_f: nn.LayerNorm
    lm_head: nn.Linear

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        # BEGIN SOLUTION c05.4: check the config, embeddings, blocks, final norm, tied head, GPT-2 init
        if config.vocab_size < 1 or config.block_size < 1 or config.n_layer < 1:
            raise ValueError(f"vocab_size, block_size and n_layer must be positive: {config}")
        head_dim = config.n_embd // config.n_head
        rope = None
        self.wpe = None
        if config.positional == "learned":
            self.wpe = LearnedPositionalEmbedding(config.block_size, config.n_embd)
        elif config.positional == "sinusoidal":
            self.wpe = SinusoidalPositionalEncoding(config.block_size, config.n_embd)
        elif config.positional == "rope":
            rope = RotaryEmbedding(head_dim, config.block_size, config.rope_base)
        else:
            raise ValueError(f"positional must be 'learned', 'sinusoidal' or 'rope', not {config.positional!r}")
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.drop = nn.Dropout(config.dropout)
        blocks = [Block(config, rope) for _ in range(config.n_layer)]
        self.blocks = nn.ModuleList(blocks)
        self.ln_f = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # weight tying: one (V, C) tensor
        self.apply(self._init_weights)
        residual_std = 0.02 / math.sqrt(2 * config.n_layer)
        for block in blocks:
            for projection in (block.attn.o_proj, block.mlp.c_proj):
                nn.init.normal_(projection.weight, mean=0.0, std=residual_std)
        # END SOLUTION

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    @property
    def context_length(self) -> int:
        return self.config.block_size

    @property
    def device(self) -> torch.device:
        return self.wte.weight.device

    def num_parameters(self) -> int:
        """Trainable parameters, the tied matrix counted once."""
        return sum(p.numel() for p in self.parameters())

    def forward(
        self,
        idx: torch.Tensor,
        targets: torch.Tensor | None = None,
        *,
        padding_mask: torch.Tensor | None = None,
        kv_cache: KVCache | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits (B, T, V) for token ids (B, T), and the mean cross-entropy when ``targets`` (B, T) are given.

        Targets equal to -100 are ignored (padding). With ``kv_cache`` the T tokens continue the cached
        ones; ValueError if they would run past the context.
        """
        # BEGIN SOLUTION c05.4: context check, embeddings at positions start.., blocks, head, loss
        t_new = idx.shape[1]  # idx: (B, T)
        start = 0 if kv_cache is None else kv_cache.length
        if start + t_new > self.config.block_size:
            raise ValueError(
                f"{start} cached + {t_new} new tokens are longer than the context of {self.config.block_size} tokens"
            )
        x = self.wte(idx)  # (B, T, C)
        if self.wpe is not None:
            positions = torch.arange(start, start + t_new, device=idx.device)  # (T,)
            x = x + self.wpe(positions)  # (B, T, C) + (T, C)
        x = self.drop(x)
        for n, block in enumerate(self.blocks):
            x = block(x, padding_mask, None if kv_cache is None else kv_cache[n])  # (B, T, C)
        logits = self.lm_head(self.ln_f(x))  # (B, T, V)
        if targets is None:
            return logits, None
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100)
        return logits, loss
        # END SOLUTION

    def logits(self, idx: torch.Tensor, *, kv_cache: KVCache | None = None) -> torch.Tensor:
        """Only the logits (B, T, V): the interface generation needs (see generate.py)."""
        logits: torch.Tensor = self(idx, kv_cache=kv_cache)[0]
        return logits

    def new_kv_cache(self, max_batch: int = 1, max_len: int | None = None) -> KVCache:
        """A preallocated cache for this model: every layer, ``max_len`` positions (default: the context)."""
        # BEGIN SOLUTION c05.5: one layer cache per block, sized by the KV heads and the head size
        config = self.config
        n_kv_head = config.n_head if config.n_kv_head is None else config.n_kv_head
        weight = self.wte.weight
        return KVCache(
            config.n_layer,
            max_batch,
            n_kv_head,
            config.block_size if max_len is None else max_len,
            config.n_embd // config.n_head,
            dtype=weight.dtype,
            device=weight.device,
        )
        # END SOLUTION
