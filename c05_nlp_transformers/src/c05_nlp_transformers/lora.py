"""LoRA: low-rank adapters on frozen linear layers (Hu et al. 2021), in peft's format.

A frozen weight W (N, K) gets a trainable update of rank r::

    y = x W^T + (alpha / r) * (x A^T) B^T        A: (r, K), B: (N, r)

A starts random (Kaiming-uniform, as peft) and B at zero, so training starts from the base model
exactly. Only A and B train: r (K + N) numbers per layer instead of N K. For SmolLM2 with r = 8 on
the four attention projections of 30 layers that is 1.4 M of 135 M parameters (about 1 %).

**Merge**: ``W <- W + (alpha / r) B A`` folds the adapter into the weight, so inference costs
nothing extra; **unmerge** restores the weight. Here unmerge puts back the saved original tensor,
so it is exact to the bit (subtracting the product again would leave rounding errors).

Adapters are saved as safetensors with peft's key names
(``base_model.model.model.layers.{i}.self_attn.q_proj.lora_A.weight``), so the same file means the
same adapter to the ``peft`` library.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from c05_nlp_transformers.llama import Llama

ATTENTION_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj")
MLP_TARGETS = ("gate_proj", "up_proj", "down_proj")
PEFT_PREFIX = "base_model.model.model."


class LoRALinear(nn.Module):
    """``base(x) + scaling * B(A(x))`` with ``base`` frozen; ``scaling = alpha / r``."""

    base: nn.Linear
    lora_A: nn.Linear  # noqa: N815  (peft's names)
    lora_B: nn.Linear  # noqa: N815
    r: int
    alpha: float
    scaling: float
    merged: torch.Tensor | None  # the original weight while merged, else None

    def __init__(self, base: nn.Linear, r: int, alpha: float) -> None:
        super().__init__()
        # BEGIN SOLUTION c05.10: check r, freeze the base, A Kaiming-uniform (a = sqrt 5), B zeros
        if r < 1 or r > min(base.in_features, base.out_features):
            raise ValueError(f"rank r must be in 1..{min(base.in_features, base.out_features)}, got {r}")
        if alpha <= 0:
            raise ValueError(f"alpha must be positive, got {alpha}")
        self.base, self.r, self.alpha, self.scaling = base, r, alpha, alpha / r
        for parameter in base.parameters():
            parameter.requires_grad_(False)
        self.lora_A = nn.Linear(base.in_features, r, bias=False)
        self.lora_B = nn.Linear(r, base.out_features, bias=False)
        nn.init.kaiming_uniform_(self.lora_A.weight, a=math.sqrt(5))
        nn.init.zeros_(self.lora_B.weight)
        self.merged = None
        # END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # BEGIN SOLUTION c05.10: the base output plus the scaled low-rank path (skipped once merged)
        out: torch.Tensor = self.base(x)  # (..., N)
        if self.merged is None:
            out = out + self.lora_B(self.lora_A(x)) * self.scaling
        return out
        # END SOLUTION

    def merge(self) -> None:
        """Fold the adapter into the base weight (idempotent)."""
        # BEGIN SOLUTION c05.10: keep the original weight, add scaling * B @ A
        if self.merged is None:
            with torch.no_grad():
                self.merged = self.base.weight.detach().clone()
                self.base.weight += (self.lora_B.weight @ self.lora_A.weight) * self.scaling
        # END SOLUTION

    def unmerge(self) -> None:
        """Restore the original base weight exactly (idempotent)."""
        # BEGIN SOLUTION c05.10: copy the saved weight back
        if self.merged is not None:
            with torch.no_grad():
                self.base.weight.copy_(self.merged)
            self.merged = None
        # END SOLUTION


def apply_lora(model: Llama, r: int = 8, alpha: float = 16.0, targets: Sequence[str] = ATTENTION_TARGETS) -> Llama:
    """Freeze every parameter of ``model`` and wrap the ``targets`` projections of each layer (in place)."""
    # BEGIN SOLUTION c05.10: freeze all, then replace each target Linear by a LoRALinear
    unknown = set(targets) - set(ATTENTION_TARGETS) - set(MLP_TARGETS)
    if unknown or not targets:
        raise ValueError(f"targets must be names among {ATTENTION_TARGETS + MLP_TARGETS}, got {list(targets)}")
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    for layer in model.layers:
        for owner in (layer.self_attn, layer.mlp):
            for name in targets:
                child = getattr(owner, name, None)
                if isinstance(child, nn.Linear):
                    setattr(owner, name, LoRALinear(child, r, alpha))
    return model
    # END SOLUTION


def lora_layers(model: nn.Module) -> dict[str, LoRALinear]:
    """Every LoRA layer by its module name (``layers.3.self_attn.q_proj``)."""
    return {name: module for name, module in model.named_modules() if isinstance(module, LoRALinear)}


def trainable_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def merge_lora(model: nn.Module) -> None:
    for layer in lora_layers(model).values():
        layer.merge()


def unmerge_lora(model: nn.Module) -> None:
    for layer in lora_layers(model).values():
        layer.unmerge()


def merge_and_unload(model: nn.Module) -> None:
    """Merge every adapter into its weight for good: each LoRA layer is replaced by its base ``nn.Linear``.

    What a deployment does before quantising: the quantisers swap plain ``nn.Linear`` modules.
    """
    merge_lora(model)
    for name, layer in lora_layers(model).items():
        owner_name, _, attr = name.rpartition(".")
        setattr(model.get_submodule(owner_name), attr, layer.base)


def lora_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """The adapter weights under peft's key names."""
    out = {}
    for name, layer in lora_layers(model).items():
        out[f"{PEFT_PREFIX}{name}.lora_A.weight"] = layer.lora_A.weight.detach().clone().contiguous()
        out[f"{PEFT_PREFIX}{name}.lora_B.weight"] = layer.lora_B.weight.detach().clone().contiguous()
    return out


def save_lora(model: nn.Module, path: str | Path) -> Path:
    """Write the adapter as safetensors (with ``r`` and ``alpha`` in the metadata)."""
    layers = lora_layers(model)
    if not layers:
        raise ValueError("the model has no LoRA layers to save: call apply_lora first")
    first = next(iter(layers.values()))
    targets = sorted({name.rsplit(".", 1)[1] for name in layers})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {"r": str(first.r), "alpha": str(first.alpha), "targets": ",".join(targets)}
    save_file(lora_state_dict(model), str(path), metadata=metadata)
    return path


def load_lora(model: Llama, path: str | Path) -> Llama:
    """Apply the adapter saved at ``path`` to ``model`` (in place): ValueError when it does not fit."""
    # BEGIN SOLUTION c05.10: read r, alpha and targets from the metadata, apply, copy the weights
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no LoRA adapter at {path}")
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata() or {}
    if not {"r", "alpha", "targets"} <= set(metadata):
        raise ValueError(f"{path} is not an adapter written by save_lora (metadata {metadata})")
    apply_lora(model, int(metadata["r"]), float(metadata["alpha"]), metadata["targets"].split(","))
    tensors = load_file(str(path))
    expected = lora_state_dict(model)
    if set(tensors) != set(expected):
        raise ValueError(f"{path} does not match the model: {len(set(tensors) ^ set(expected))} keys differ")
    for name, layer in lora_layers(model).items():
        for part in ("lora_A", "lora_B"):
            tensor = tensors[f"{PEFT_PREFIX}{name}.{part}.weight"]
            target = getattr(layer, part).weight
            if tensor.shape != target.shape:
                raise ValueError(f"{name}.{part}: shape {tuple(tensor.shape)}, expected {tuple(target.shape)}")
            with torch.no_grad():
                target.copy_(tensor)
    return model
    # END SOLUTION
