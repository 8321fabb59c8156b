"""Autoregressive generation: prefill, decode with a KV cache, sample, stream, stop.

:func:`stream` yields each new token as soon as it is chosen; :func:`generate` collects them.
With ``use_cache=True`` the prompt is run once (*prefill*), then every step feeds only the token
just chosen and reuses the cached keys and values of all earlier ones. With ``use_cache=False``
every step runs the model over the whole sequence again: the same logits, recomputed. Greedy
decoding therefore gives exactly the same tokens either way; only the cost differs (the cached
step costs the same at every prefix length, the uncached one grows with it).

**Longer than the context.** A model sees at most ``context_length`` positions. When the text
outgrows that, the window of visible tokens jumps forward by half a context (``start`` below), so
that the cache is rebuilt (one prefill) once every ``context_length // 2`` tokens rather than
every token. Both paths use the same window, so they agree at every step. The *prompt* itself
must fit the context.

**Stop sequences** are token-id sequences. Generation ends when the newest tokens complete one;
the stop sequence itself is not returned. To stream without ever taking back a token, a token is
held back while the tokens so far could still be the beginning of a stop sequence.

**Seeds**: ``seed`` seeds a private ``torch.Generator``, so the same seed gives the same tokens.

**Devices.** Generation runs where the model is (``model.device``): the token ids go there, the
cache is allocated there. The last position's logits come back to the CPU before sampling, so the
seeded CPU generator draws the tokens (a CPU generator cannot drive a CUDA ``multinomial``), and
the same seed gives the same tokens on every device for the same logits.

``python -m c05_nlp_transformers.sample`` streams a sample from a model trained by ``train.py``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

import torch

from c05_nlp_transformers.kv_cache import KVCache
from c05_nlp_transformers.sampling import SamplingConfig, sample


class CausalLM(Protocol):
    """What generation needs of a model: the GPT of c05.4 and the Llama of part 2 both provide it."""

    @property
    def context_length(self) -> int: ...

    def logits(self, idx: torch.Tensor, *, kv_cache: KVCache | None = None) -> torch.Tensor: ...

    def new_kv_cache(self, max_batch: int = 1, max_len: int | None = None) -> KVCache: ...

    @property
    def device(self) -> torch.device: ...


def window_start(n_tokens: int, context_length: int) -> int:
    """First visible position when predicting token ``n_tokens``: 0 until the context is full, then
    moving forward half a context at a time (the window always holds more than half a context)."""
    # BEGIN SOLUTION c05.5: 0 until the context is full, then jumps of context - context // 2
    keep = context_length // 2
    step = context_length - keep
    return max(0, (n_tokens - keep - 1) // step) * step
    # END SOLUTION


def _held_back(tokens: Sequence[int], stops: Sequence[tuple[int, ...]]) -> int:
    """Length of the longest suffix of ``tokens`` that is a proper prefix of some stop sequence."""
    longest = 0
    for stop in stops:
        for size in range(min(len(stop) - 1, len(tokens)), longest, -1):
            if tuple(tokens[-size:]) == stop[:size]:
                longest = size
                break
    return longest


def stream(
    model: CausalLM,
    prompt: Sequence[int],
    max_new_tokens: int,
    *,
    sampling: SamplingConfig | None = None,
    seed: int | None = None,
    use_cache: bool = True,
    stop_sequences: Sequence[Sequence[int]] = (),
) -> Iterator[int]:
    """Yield up to ``max_new_tokens`` new token ids, one at a time, as they are produced.

    ``sampling`` None is greedy decoding. Put the model in eval mode first (dropout).

    Raises ValueError at the call (not at the first ``next``) for an empty prompt, a prompt longer
    than the model's context, a negative ``max_new_tokens`` or an empty stop sequence.
    """
    # BEGIN SOLUTION c05.5: validate the arguments here, then hand over to the decoding loop
    context = model.context_length
    if not prompt:
        raise ValueError("the prompt is empty: generation needs at least one token to condition on")
    if len(prompt) > context:
        raise ValueError(f"the prompt of {len(prompt)} tokens is longer than the context of {context} tokens")
    if max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be >= 0, got {max_new_tokens}")
    stops = [tuple(int(t) for t in s) for s in stop_sequences]
    if any(not s for s in stops):
        raise ValueError("a stop sequence must hold at least one token")
    sampling = SamplingConfig(temperature=0.0) if sampling is None else sampling
    generator = None if seed is None else torch.Generator().manual_seed(seed)
    return _decode_loop(model, [int(t) for t in prompt], max_new_tokens, sampling, generator, use_cache, stops)
    # END SOLUTION


def _decode_loop(
    model: CausalLM,
    tokens: list[int],
    max_new_tokens: int,
    sampling: SamplingConfig,
    generator: torch.Generator | None,
    use_cache: bool,
    stops: Sequence[tuple[int, ...]],
) -> Iterator[int]:
    """The generator behind :func:`stream`; ``tokens`` (the prompt) grows by each new token."""
    # BEGIN SOLUTION c05.5: per step: window, prefill or one cached token, sample, stop or hold back, yield
    context = model.context_length
    cache = model.new_kv_cache(1, context) if use_cache else None
    cached_from = -1  # window start the cache was filled from (-1: empty)
    held: list[int] = []  # chosen tokens not yet yielded: they might begin a stop sequence
    for _ in range(max_new_tokens):
        start = window_start(len(tokens), context)
        with torch.inference_mode():  # per step: never left active in the caller while suspended at a yield
            if cache is None:  # recompute the whole window
                logits = model.logits(torch.tensor([tokens[start:]], device=model.device))  # (1, T, V)
            elif start != cached_from:  # prefill: the first step, or the window moved
                cache.reset()
                logits = model.logits(torch.tensor([tokens[start:]], device=model.device), kv_cache=cache)
                cached_from = start
            else:  # decode: only the newest token
                logits = model.logits(torch.tensor([tokens[-1:]], device=model.device), kv_cache=cache)  # (1, 1, V)
            token = int(sample(logits[:, -1, :].cpu(), sampling, generator)[0])  # (1, V) on the CPU
        tokens.append(token)
        held.append(token)
        done = next((s for s in stops if tuple(held[-len(s) :]) == s), None)
        if done is not None:
            yield from held[: len(held) - len(done)]
            return
        release = len(held) - _held_back(held, stops)
        yield from held[:release]
        del held[:release]
    yield from held
    # END SOLUTION


def generate(
    model: CausalLM,
    prompt: Sequence[int],
    max_new_tokens: int,
    *,
    sampling: SamplingConfig | None = None,
    seed: int | None = None,
    use_cache: bool = True,
    stop_sequences: Sequence[Sequence[int]] = (),
) -> list[int]:
    """The new tokens of :func:`stream`, as one list (the prompt is not included)."""
    return list(
        stream(
            model,
            prompt,
            max_new_tokens,
            sampling=sampling,
            seed=seed,
            use_cache=use_cache,
            stop_sequences=stop_sequences,
        )
    )

