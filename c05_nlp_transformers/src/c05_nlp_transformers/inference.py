"""Fast generation for the Llama: a right-sized preallocated cache, a last-position prefill, a tight loop.

Part 1's :func:`~c05_nlp_transformers.generate.stream` is general (windows past the context, stop
sequences held back token by token). Serving one chat turn needs less, and each saving shows in a
profile of a 135M-parameter model on a CPU:

* the KV cache is allocated once at ``len(prompt) + max_new_tokens`` positions, not the model's
  8192-token context (30 layers x 2 x 3 heads x 8192 x 64 floats = 377 MB zeroed per call);
* the prefill runs the output head on the **last position only** (the head is a 49152 x 576
  matmul: over a 512-token prompt it would cost more than all 30 blocks' MLPs);
* one ``torch.inference_mode`` around the whole loop (no autograd bookkeeping), the next token id
  written into a reused (1, 1) tensor, the argmax or the draw done by part 1's sampler;
* generation stops at an end-of-turn token without running the model again.

**Where the time goes.** At batch 1 a decode step multiplies a vector by every weight matrix: 134 M
float32 weights, 540 MB read from memory per token. On one core of the benchmark machine that alone
takes about 42 ms (about 13 GB/s), and Hugging Face's ``generate`` takes about 60 ms per token, so a
float32 implementation can be at most about 1.4 x faster than it. Our per-token overhead was about
27 ms (30 layers x ~15 small ops, part 1's attention with explicit masks and KV heads repeated 3 x);
the Llama's own attention (:class:`~c05_nlp_transformers.llama.LlamaAttention`: cos/sin sliced once
per forward pass for all layers, torch's fused ``scaled_dot_product_attention`` with
``enable_gqa=True``, no mask for a decode step) took decode from about 14.5 to about 17.4 tokens/s
(+20 %, interleaved on one thread). A profile now shows about 85 % of a decode step in ``aten::mm``.
Going further needs fewer bytes per weight: the int8 path of c05.9 (``quantize.py``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch

from c05_nlp_transformers.llama import Llama
from c05_nlp_transformers.sampling import SamplingConfig, sample


def stream_tokens(
    model: Llama,
    prompt: Sequence[int],
    max_new_tokens: int,
    *,
    sampling: SamplingConfig | None = None,
    seed: int | None = None,
    eos_ids: Sequence[int] = (),
) -> Iterator[int]:
    """Yield up to ``max_new_tokens`` new ids; stop after yielding an id in ``eos_ids``.

    ValueError at the call for an empty prompt, a negative ``max_new_tokens`` or a prompt plus new
    tokens longer than the context.
    """
    # BEGIN SOLUTION c05.8: validate, size the cache, then hand over to the decoding loop
    if not prompt:
        raise ValueError("the prompt is empty: generation needs at least one token to condition on")
    if max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be >= 0, got {max_new_tokens}")
    total = len(prompt) + max_new_tokens
    if total > model.context_length:
        raise ValueError(f"{len(prompt)} prompt + {max_new_tokens} new tokens exceed the context of "
                         f"{model.context_length}")
    sampling = SamplingConfig(temperature=0.0) if sampling is None else sampling
    generator = None if seed is None else torch.Generator().manual_seed(seed)
    return _loop(model, [int(t) for t in prompt], max_new_tokens, sampling, generator, frozenset(eos_ids))
    # END SOLUTION


def _loop(
    model: Llama,
    prompt: list[int],
    max_new_tokens: int,
    sampling: SamplingConfig,
    generator: torch.Generator | None,
    eos_ids: frozenset[int],
) -> Iterator[int]:
    # BEGIN SOLUTION c05.8: prefill (last position only), then one cached token per step
    if max_new_tokens == 0:
        return
    cache = model.new_kv_cache(1, len(prompt) + max_new_tokens)
    step = torch.empty(1, 1, dtype=torch.long, device=model.device)  # (1, 1), reused every step
    idx = torch.tensor([prompt], device=model.device)  # (1, T)
    for n in range(max_new_tokens):
        with torch.inference_mode():
            logits = model(idx, kv_cache=cache, last_only=True)  # (1, 1, V)
            token = int(sample(logits[:, -1, :], sampling, generator)[0])
        yield token
        if token in eos_ids or n == max_new_tokens - 1:
            return
        step[0, 0] = token
        idx = step
    # END SOLUTION


def generate_tokens(
    model: Llama,
    prompt: Sequence[int],
    max_new_tokens: int,
    *,
    sampling: SamplingConfig | None = None,
    seed: int | None = None,
    eos_ids: Sequence[int] = (),
) -> list[int]:
    """The ids of :func:`stream_tokens` as one list."""
    return list(stream_tokens(model, prompt, max_new_tokens, sampling=sampling, seed=seed, eos_ids=eos_ids))
