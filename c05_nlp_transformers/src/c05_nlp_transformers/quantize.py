"""INT8 weights: our per-output-channel weight-only linear layer, torch's dynamic quantisation, and how to judge them.

**Per-output-channel symmetric int8.** Row n of a weight matrix W (N, K) gets its own scale
``s_n = max_k |W[n, k]| / 127`` and is stored as ``q = round(W / s_n)`` in int8 (4 x smaller than
float32). Then ``y = x @ W^T ~ (x @ q^T) * s``: the scale is applied once per output, after the
matmul. Two ways to run that matmul in :class:`Int8Linear`:

* ``"dequant"``: convert q to float32 on the fly and use the float matmul (weight-only);
* ``"int_mm"``: also quantise the activations per row (``x ~ a_m * xq``) and multiply int8 by int8
  with ``torch._int_mm`` (exact int32 accumulation), then rescale by ``a_m * s_n``.

**torch's dynamic quantisation** (``torch.ao.quantization.quantize_dynamic``) does the second idea
with fbgemm's packed int8 kernels (activations quantised per tensor at run time): the fast path on
x86 CPUs. torch 2.13 still ships it, with a deprecation warning pointing to torchao.

Measured on the benchmark machine (one thread, batch 1, all 211 matrices of SmolLM2): float32 42 ms,
``_int_mm`` 89 ms (it works for M = 1 on the CPU but is not vectorised for it), dequantise-on-the-fly
100 ms, ``torch._weight_int8pack_mm`` 128 ms, fbgemm dynamic 19.5 ms. The fast fbgemm path quantises
the activations per tensor, and SmolLM2's activation outliers make that costly: perplexity 34 -> 95.
Our per-channel weight-only layers keep the quality (+0.3 % perplexity) at less than half the memory;
run through these two backends they are slower than float32, since both convert or copy the int8
matrix on every call. c05.11's kernel (``quant_kernels.int8_matmul_kernel``) multiplies the same int8
weights and scales without a float copy and decodes faster than float32 (README, "Quantised decoding").

Quality is judged against the float32 model on held-out text: top-1 agreement of next-token
predictions and perplexity ``exp(mean cross-entropy)``.
"""

from __future__ import annotations

import copy
import math
import warnings
from typing import Literal

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

Backend = Literal["dequant", "int_mm"]


def quantize_per_channel(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, K) float -> int8 (N, K) and float32 scales (N,) with ``weight ~ q * scale[:, None]``."""
    # BEGIN SOLUTION c05.9: per-row absolute maximum / 127, round, clamp to [-127, 127]
    if weight.dim() != 2:
        raise ValueError(f"per-channel quantisation needs a 2-D weight, got shape {tuple(weight.shape)}")
    if not torch.isfinite(weight).all():
        raise ValueError("the weight holds NaN or infinity: it cannot be quantised")
    scale = weight.abs().amax(dim=1).float() / 127.0  # (N,)
    scale = torch.where(scale == 0, torch.ones_like(scale), scale)  # an all-zero row: any scale works
    q = torch.round(weight.float() / scale[:, None]).clamp(-127, 127).to(torch.int8)  # (N, K)
    return q, scale
    # END SOLUTION


class Int8Linear(nn.Module):
    """A bias-free linear layer with int8 weights and per-output-channel float32 scales."""

    qweight: torch.Tensor  # (N, K) int8
    scale: torch.Tensor  # (N,) float32

    def __init__(self, linear: nn.Linear, backend: Backend = "dequant") -> None:
        super().__init__()
        if backend not in ("dequant", "int_mm"):
            raise ValueError(f"backend must be 'dequant' or 'int_mm', not {backend!r}")
        if linear.bias is not None:
            raise ValueError("Int8Linear has no bias (Llama's layers have none)")
        self.backend: Backend = backend
        self.in_features: int = linear.in_features
        self.out_features: int = linear.out_features
        q, scale = quantize_per_channel(linear.weight.detach())
        self.register_buffer("qweight", q)
        self.register_buffer("scale", scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # BEGIN SOLUTION c05.9: float matmul on the dequantised weight or _int_mm on int8; then scale
        lead = x.shape[:-1]
        flat = x.reshape(-1, self.in_features)  # (M, K)
        if self.backend == "dequant":
            y = F.linear(flat, self.qweight.to(flat.dtype)) * self.scale  # (M, N)
        else:
            amax = flat.abs().amax(dim=1, keepdim=True).clamp(min=1e-12)  # (M, 1)
            xq = torch.round(flat * (127.0 / amax)).to(torch.int8)
            acc = torch._int_mm(xq, self.qweight.t())  # (M, N) int32, exact
            y = acc.to(flat.dtype) * (amax / 127.0) * self.scale
        return y.reshape(*lead, self.out_features)
        # END SOLUTION


def quantize_int8(model: nn.Module, backend: Backend = "dequant") -> nn.Module:
    """A copy of ``model`` with every ``nn.Linear`` (the tied head too) replaced by :class:`Int8Linear`."""
    # BEGIN SOLUTION c05.9: deep copy, then swap each Linear for an Int8Linear built from it
    quantized = copy.deepcopy(model)
    for parent in list(quantized.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.Linear):
                setattr(parent, name, Int8Linear(child, backend))
    return quantized.eval()
    # END SOLUTION


def quantize_dynamic(model: nn.Module) -> nn.Module:
    """A copy of ``model`` through ``torch.ao.quantization.quantize_dynamic`` (int8 weights, fbgemm)."""
    with warnings.catch_warnings():  # torch 2.13 deprecates the torch.ao API in favour of torchao
        warnings.simplefilter("ignore")
        from torch.ao.quantization import quantize_dynamic as torch_quantize_dynamic

        quantized: nn.Module = torch_quantize_dynamic(  # type: ignore[no-untyped-call]
            copy.deepcopy(model), {nn.Linear}, dtype=torch.qint8)
        return quantized.eval()


def weight_bytes(model: nn.Module) -> int:
    """Bytes held by the weights: parameters and buffers (each shared tensor once) and packed int8 weights."""
    # BEGIN SOLUTION c05.9: distinct parameters, int8 weights and scales, packed dynamic weights
    seen: set[int] = set()
    total = 0
    tensors: list[torch.Tensor] = [*model.parameters()]
    tensors += [m.qweight for m in model.modules() if isinstance(m, Int8Linear)]
    tensors += [m.scale for m in model.modules() if isinstance(m, Int8Linear)]
    for tensor in tensors:
        if id(tensor) not in seen:  # a tied weight counts once
            seen.add(id(tensor))
            total += tensor.numel() * tensor.element_size()
    for module in model.modules():
        packed = getattr(module, "_packed_params", None)
        if packed is not None and hasattr(packed, "_weight_bias"):
            qweight = packed._weight_bias()[0]  # int8 values and per-channel or per-tensor scales
            per_channel = qweight.qscheme() in (torch.per_channel_affine, torch.per_channel_symmetric)
            total += qweight.numel() + (8 * qweight.q_per_channel_scales().numel() if per_channel else 8)
    return total
    # END SOLUTION


def perplexity(model: nn.Module, ids: list[int], window: int = 256) -> float:
    """``exp`` of the mean next-token cross-entropy over ``ids``, in consecutive windows."""
    # BEGIN SOLUTION c05.9: windows of ``window`` tokens, each predicting its own next tokens
    if len(ids) < 2 or window < 2:
        raise ValueError("perplexity needs at least 2 tokens and a window of at least 2")
    total, count = 0.0, 0
    with torch.inference_mode():
        for start in range(0, len(ids) - 1, window):
            chunk = torch.tensor([ids[start : start + window + 1]])  # (1, T + 1)
            if chunk.shape[1] < 2:
                break
            logits = model(chunk[:, :-1])  # (1, T, V)
            loss = F.cross_entropy(logits[0].float(), chunk[0, 1:], reduction="sum")
            total, count = total + float(loss), count + chunk.shape[1] - 1
    return math.exp(total / count)
    # END SOLUTION


def top1_agreement(logits: torch.Tensor, reference: torch.Tensor) -> float:
    """Fraction of positions where the argmax of ``logits`` equals the argmax of ``reference`` (..., V)."""
    if logits.shape != reference.shape:
        raise ValueError(f"logits {tuple(logits.shape)} and reference {tuple(reference.shape)} differ in shape")
    return float((logits.argmax(-1) == reference.argmax(-1)).float().mean())
