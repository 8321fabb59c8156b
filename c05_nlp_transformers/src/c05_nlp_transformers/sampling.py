"""Choosing the next token from the logits: greedy, temperature, top-k and top-p (nucleus).

Given logits z (V,) the model's distribution is softmax(z). A sampler reshapes it first:

* **temperature** T: softmax(z / T). T < 1 sharpens (T -> 0 is greedy: always the argmax),
  T > 1 flattens. T = 0 means greedy here; a negative temperature is an error.
* **top-k**: keep the k most likely tokens, renormalise. Ties with the k-th logit are kept too,
  so the kept set never depends on how a sort orders equal values.
* **top-p** (nucleus, Holtzman et al. 2019): keep the smallest set of most likely tokens whose
  probability adds up to at least p, renormalise; p must be in (0, 1], and p = 1 keeps everything.
  The most likely token is always kept.

They apply in that order (temperature, then top-k, then top-p on the tempered distribution), the
order Hugging Face uses, so part 2 can reproduce its samples' distribution. Filtering sets the
dropped logits to -inf, so the softmax gives them probability exactly 0: a filtered sampler can
never draw a dropped token. Draws take an explicit ``torch.Generator``: the same seed gives the
same tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class SamplingConfig:
    """How to pick the next token. The defaults sample from the model's own distribution."""

    temperature: float = 1.0  # 0 means greedy
    top_k: int | None = None  # None: no top-k filter
    top_p: float | None = None  # None: no nucleus filter

    def __post_init__(self) -> None:
        # BEGIN SOLUTION c05.5: reject a negative or non-finite temperature, top_k < 1, top_p outside (0, 1]
        if not (self.temperature >= 0.0 and self.temperature != float("inf")):
            raise ValueError(f"temperature must be a finite number >= 0 (0 = greedy), got {self.temperature}")
        if self.top_k is not None and (isinstance(self.top_k, bool) or not isinstance(self.top_k, int)
                                       or self.top_k < 1):
            raise ValueError(f"top_k must be an int >= 1 or None, got {self.top_k!r}")
        if self.top_p is not None and not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        # END SOLUTION

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Logits (..., V) with every entry below the k-th largest of its row set to -inf (ties kept)."""
    # BEGIN SOLUTION c05.5: find the k-th largest value per row, mask everything below it
    if k >= logits.shape[-1]:
        return logits
    kth = torch.topk(logits, k, dim=-1).values[..., -1:]  # (..., 1)
    return logits.masked_fill(logits < kth, float("-inf"))
    # END SOLUTION


def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Logits (..., V) keeping the smallest most-likely set whose probability reaches ``p``; the rest -inf."""
    # BEGIN SOLUTION c05.5: sort descending, drop tokens whose preceding cumulative mass reaches p
    if p >= 1.0:
        return logits
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)  # (..., V)
    probs = torch.softmax(sorted_logits, dim=-1)
    mass_before = torch.cumsum(probs, dim=-1) - probs  # probability of the tokens ranked above each one
    drop_sorted = mass_before >= p  # never drops the first: its mass_before is 0 < p
    drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
    return logits.masked_fill(drop, float("-inf"))
    # END SOLUTION


def probabilities(logits: torch.Tensor, config: SamplingConfig) -> torch.Tensor:
    """The distribution (..., V) the sampler draws from, after temperature, top-k and top-p."""
    # BEGIN SOLUTION c05.5: greedy is one-hot on the argmax; else scale, filter, softmax
    if config.greedy:
        return torch.nn.functional.one_hot(logits.argmax(dim=-1), logits.shape[-1]).to(logits.dtype)
    scaled = logits / config.temperature
    if config.top_k is not None:
        scaled = top_k_filter(scaled, config.top_k)
    if config.top_p is not None:
        scaled = top_p_filter(scaled, config.top_p)
    return torch.softmax(scaled, dim=-1)
    # END SOLUTION


def sample(
    logits: torch.Tensor, config: SamplingConfig | None = None, generator: torch.Generator | None = None
) -> torch.Tensor:
    """One token id per row of ``logits`` (B, V) -> (B,) long; ``config`` None is ``SamplingConfig()``.

    Greedy takes the first maximum of each row.
    """
    # BEGIN SOLUTION c05.5: argmax when greedy, else one multinomial draw per row from probabilities()
    config = SamplingConfig() if config is None else config
    if logits.dim() != 2:
        raise ValueError(f"logits must be (batch, vocab), got shape {tuple(logits.shape)}")
    if config.greedy:
        return logits.argmax(dim=-1)
    probs = probabilities(logits.float(), config)  # (B, V)
    return torch.multinomial(probs, num_samples=1, generator=generator).squeeze(-1)  # (B,)
    # END SOLUTION
