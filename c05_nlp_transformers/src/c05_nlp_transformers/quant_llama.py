"""SmolLM2 on quantised weights through the kernels of :mod:`~c05_nlp_transformers.quant_kernels`.

Three ways to run the Llama's 211 linear layers (the token embedding stays a float32 lookup table):

* ``"int8"``: c05.9's per-output-channel int8 weights, multiplied by :func:`int8_linear` without a
  float copy of the weights;
* ``"q8_0"``: every weight requantised into llama.cpp's Q8_0 blocks (:func:`quantize_q8_0`);
* ``"q4_1"``: the GGUF file's own Q4_1 blocks, read in place from its memory map (the rows of
  ``attn_q`` and ``attn_k`` reordered once, as :func:`~c05_nlp_transformers.llama.unpermute_qk` does
  for the float weights), and its Q8_0 token embedding as the tied output head: the bytes llama.cpp
  runs from this file.

The quantised model is a copy of the float32 Llama with its ``nn.Linear`` modules swapped, so
generation (c05.8), perplexity and top-1 agreement (c05.9) work on it unchanged.
"""

from __future__ import annotations

import copy
from typing import Literal

import numpy as np
import torch
from torch import nn

from c05_nlp_transformers.gguf import GGMLType, GGUFFile
from c05_nlp_transformers.llama import _BLOCK_TENSORS, Llama, unpermute_qk
from c05_nlp_transformers.quant_kernels import Bytes, block_linear, int8_linear, quantize_q8_0
from c05_nlp_transformers.quantize import Int8Linear

Kind = Literal["int8", "q8_0", "q4_1"]
KINDS: tuple[Kind, ...] = ("int8", "q8_0", "q4_1")


class KernelInt8Linear(Int8Linear):
    """c05.9's :class:`Int8Linear` (same int8 weights and scales) multiplied by the int8 kernel."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return int8_linear(x, self.qweight, self.scale)


class BlockLinear(nn.Module):
    """A bias-free linear layer whose weight (N, K) is GGUF blocks: Q8_0 (kind 8) or Q4_1 (kind 3)."""

    def __init__(self, raw: Bytes, kind: GGMLType, in_features: int) -> None:
        super().__init__()
        if kind not in (GGMLType.Q8_0, GGMLType.Q4_1):
            raise ValueError(f"BlockLinear runs Q8_0 or Q4_1 blocks, not {kind.name}")
        self.raw, self.kind = raw, kind  # the bytes stay numpy: a view of the file's memory map for Q4_1
        self.in_features, self.out_features = in_features, raw.shape[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return block_linear(x, self.raw, int(self.kind))

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, kind={self.kind.name}"


def file_blocks(gguf: GGUFFile, name: str, row_permutation_heads: int | None = None) -> Bytes:
    """Tensor ``name``'s blocks as (rows, bytes per row), a view of the memory map; rows unpermuted if asked."""
    # BEGIN SOLUTION c05.11: view the bytes as rows; undo the Q/K row permutation with an index (one copy)
    info = gguf.tensors[name]
    rows = info.shape[0] if len(info.shape) == 2 else 1
    raw = np.asarray(gguf.raw(name)).reshape(rows, -1)  # (N, K / 32 * block bytes), no copy
    if row_permutation_heads is not None:
        order = unpermute_qk(torch.arange(rows)[:, None], row_permutation_heads)[:, 0].numpy()
        raw = raw[order]  # the file's row order -> Hugging Face's half-split RoPE order
    return raw
    # END SOLUTION


def quantize_llama(model: Llama, kind: Kind, gguf: GGUFFile | None = None) -> Llama:
    """A copy of ``model`` whose linear layers run quantised (``gguf``: the file, needed for ``"q4_1"``)."""
    # BEGIN SOLUTION c05.11: copy, then swap every nn.Linear for the kind's quantised layer
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    if kind == "q4_1" and gguf is None:
        raise ValueError("q4_1 runs the file's own blocks: pass the GGUFFile the model was loaded from")
    quantized = copy.deepcopy(model)
    config = model.config
    for n, layer in enumerate(quantized.layers):
        for theirs, ours in _BLOCK_TENSORS.items():
            if not ours.endswith("proj.weight"):
                continue  # the RMSNorm weights stay float32
            parent_name, attr = ours.removesuffix(".weight").rsplit(".", 1)
            parent = layer.get_submodule(parent_name)
            linear = getattr(parent, attr)
            if kind == "int8":
                new: nn.Module = KernelInt8Linear(linear)
            elif kind == "q8_0":
                new = BlockLinear(quantize_q8_0(linear.weight), GGMLType.Q8_0, linear.in_features)
            else:
                assert gguf is not None
                heads = {"attn_q.weight": config.n_head, "attn_k.weight": config.n_kv_head}.get(theirs)
                info = gguf.tensors[f"blk.{n}.{theirs}"]
                if info.ggml_type not in (GGMLType.Q4_1, GGMLType.Q8_0):
                    raise ValueError(f"blk.{n}.{theirs} is {info.ggml_type.name}, not a block type")
                new = BlockLinear(file_blocks(gguf, f"blk.{n}.{theirs}", heads), info.ggml_type, linear.in_features)
            setattr(parent, attr, new)
    head = quantized.lm_head
    if kind == "int8":
        quantized.lm_head = KernelInt8Linear(head)  # type: ignore[assignment]
    elif gguf is not None and gguf.tensors["token_embd.weight"].ggml_type == GGMLType.Q8_0 and kind == "q4_1":
        quantized.lm_head = BlockLinear(  # type: ignore[assignment]
            file_blocks(gguf, "token_embd.weight"), GGMLType.Q8_0, head.in_features)
    else:
        quantized.lm_head = BlockLinear(  # type: ignore[assignment]
            quantize_q8_0(head.weight), GGMLType.Q8_0, head.in_features)
    return quantized.eval()
    # END SOLUTION


def quantized_weight_bytes(model: nn.Module) -> int:
    """Bytes the linear layers read per token: int8 weights and scales, or the GGUF blocks."""
    total = 0
    for module in model.modules():
        if isinstance(module, Int8Linear):
            total += module.qweight.numel() + 4 * module.scale.numel()
        elif isinstance(module, BlockLinear):
            total += module.raw.nbytes
    return total
