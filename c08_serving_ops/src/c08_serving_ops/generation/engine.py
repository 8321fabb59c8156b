"""Token generation behind the server: one request's decoding loop, and the engine that admits and runs them.

A :class:`Generation` is one request: it wraps c05's :func:`~c05_nlp_transformers.inference.stream_tokens`
(a KV-cached decoding loop that yields one token id per step) and turns each id into a
:class:`TokenStep` (the id and the text it releases). Text that could still be the start of a stop
string is held back, so a stream never shows text that the final answer drops; the concatenated step
texts always equal the final ``generated_text``.

The :class:`GenerationEngine` runs every step on **one worker thread** (generation is CPU-bound
and blocking; the event loop must stay free): concurrent requests interleave token by token, and a
request's close is queued behind its in-flight step, so a client that disconnects stops its
generation within one token step. Closing the token generator drops its frame, and with it the KV
cache (``Generation.released``).

Admission: at most ``max_active`` generations run; up to ``max_waiting`` more wait for a slot; a
request beyond that is refused at once (:class:`GenerationFullError`, 429 in the API).
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import random
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from c08_serving_ops.core.settings import Settings
from c08_serving_ops.generation.gen_metrics import GenerationMetrics

if TYPE_CHECKING:
    from c05_nlp_transformers.chat import ChatModel

SEED_LIMIT = 2**63  # seeds are 0 <= seed < 2**63 (torch.Generator.manual_seed takes them)


def load_llm(settings: Settings) -> ChatModel:
    """SmolLM2 from c05 (fp32 or int8, optionally with the LoRA adapter merged) on ``torch_threads`` threads."""
    # BEGIN SOLUTION c08.9: c05's load_chat_model with the settings' quantization, adapter and threads
    from c05_nlp_transformers.chat import load_chat_model

    if settings.adapter_path is not None and not settings.adapter_path.is_file():
        raise FileNotFoundError(f"adapter_path {settings.adapter_path} does not exist")
    return load_chat_model(quantization=settings.quantization, adapter=settings.adapter_path,
                           threads=settings.torch_threads)
    # END SOLUTION


@dataclass(frozen=True)
class GenerationParams:
    """Validated sampling parameters (the API checks ranges; this is what the loop needs)."""

    max_new_tokens: int = 16
    temperature: float = 0.0  # 0 or do_sample=False: greedy
    top_k: int | None = None
    top_p: float = 1.0
    seed: int | None = None
    stop: tuple[str, ...] = ()
    do_sample: bool = True

    @property
    def greedy(self) -> bool:
        return not self.do_sample or self.temperature == 0.0


@dataclass(frozen=True)
class TokenStep:
    id: int
    text: str  # the text this token releases ("" while it may still start a stop string, or for eos)
    special: bool  # the end-of-turn token


@dataclass
class Generation:
    """One request's decoding loop. ``step`` blocks (run it on the engine's worker); ``close`` frees the cache."""

    ids: Iterator[int]
    eos_id: int
    decode_bytes: Callable[[Sequence[int]], bytes]  # the tokenizer's
    params: GenerationParams
    prompt_tokens: int
    seed: int | None
    pieces: list[str] = field(default_factory=list)
    generated_tokens: int = 0
    finish_reason: str | None = None  # set when done: "length" | "eos_token" | "stop_sequence"
    released: bool = False  # the token generator (and its KV cache) is gone
    _pending: str = ""
    _decoder: codecs.IncrementalDecoder = field(
        default_factory=lambda: codecs.getincrementaldecoder("utf-8")(errors="replace"))

    @property
    def done(self) -> bool:
        return self.finish_reason is not None

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    def step(self) -> TokenStep:
        """Run the model for one token; RuntimeError if the generation is already done."""
        # BEGIN SOLUTION c08.9: next id; eos ends; decode; cut at a stop string; hold back a stop prefix
        if self.done:
            raise RuntimeError("the generation is finished")
        token = next(self.ids)
        self.generated_tokens += 1
        if token == self.eos_id:
            return self._finish("eos_token", TokenStep(token, self._flush(), True))
        self._pending += self._decoder.decode(self.decode_bytes([token]))
        hits = [self._pending.find(s) for s in self.params.stop if s in self._pending]
        if hits:
            text, self._pending = self._pending[: min(hits)], ""
            return self._finish("stop_sequence", TokenStep(token, text, False))
        if self.generated_tokens >= self.params.max_new_tokens:
            return self._finish("length", TokenStep(token, self._flush(), False))
        keep = max((n for s in self.params.stop for n in range(len(s) - 1, 0, -1)
                    if self._pending.endswith(s[:n])), default=0)
        text = self._pending[: len(self._pending) - keep]
        self._pending = self._pending[len(self._pending) - keep:]
        self.pieces.append(text)
        return TokenStep(token, text, False)
        # END SOLUTION

    def _flush(self) -> str:
        text = self._pending + self._decoder.decode(b"", final=True)
        self._pending = ""
        return text

    def _finish(self, reason: str, step: TokenStep) -> TokenStep:
        self.finish_reason = reason
        self.pieces.append(step.text)
        self.close()
        return step

    def close(self) -> None:
        """Drop the token generator: its frame holds the KV cache (call on the worker, never mid-step)."""
        # BEGIN SOLUTION c08.9: close the generator (frees its frame and cache); idempotent
        if not self.released:
            close = getattr(self.ids, "close", None)
            if close is not None:
                close()
            self.released = True
        # END SOLUTION


class GenerationFullError(Exception):
    """Every slot is taken and the waiting line is full."""


class GenerationEngine:
    """Admission (active + waiting slots), one worker thread for every model step, and the gauges."""

    context: int  # tokens: prompt + max_new_tokens must fit
    max_active: int
    max_waiting: int
    active: int
    waiting: int
    _slots: asyncio.Semaphore
    _worker: ThreadPoolExecutor

    def __init__(self, chat: ChatModel, settings: Settings, metrics: GenerationMetrics) -> None:
        self.chat, self.settings, self.metrics = chat, settings, metrics
        # BEGIN SOLUTION c08.9: the context (at most the model's); max_active slots; one worker
        self.context = min(settings.generate_context, chat.context)
        self.max_active, self.max_waiting = settings.max_active_generations, settings.max_waiting_generations
        self.active = 0
        self.waiting = 0
        self._slots = asyncio.Semaphore(self.max_active)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="c08-generate")
        # END SOLUTION

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` (special tokens such as ``<|im_end|>`` included, as ChatML needs)."""
        return self.chat.tokenizer.encode(text)

    def new(self, prompt: Sequence[int], params: GenerationParams) -> Generation:
        """A generation over ``prompt`` (token ids); the caller holds a slot (:meth:`admit`)."""
        # BEGIN SOLUTION c08.9: check the context; pick a seed when sampling without one; stream_tokens
        from c05_nlp_transformers.inference import stream_tokens
        from c05_nlp_transformers.sampling import SamplingConfig

        if not prompt:
            raise ValueError("the prompt is empty")
        if len(prompt) + params.max_new_tokens > self.context:
            raise ValueError(f"{len(prompt)} prompt tokens + max_new_tokens {params.max_new_tokens} exceed the "
                             f"context of {self.context} tokens")
        if params.greedy:
            sampling, seed = SamplingConfig(temperature=0.0), None
        else:
            seed = params.seed if params.seed is not None else random.randrange(SEED_LIMIT)
            sampling = SamplingConfig(temperature=params.temperature, top_k=params.top_k,
                                      top_p=None if params.top_p == 1.0 else params.top_p)
        ids = stream_tokens(self.chat.model, prompt, params.max_new_tokens, sampling=sampling,  # type: ignore[arg-type]
                            seed=seed, eos_ids=[self.chat.eos_id])
        return Generation(ids, self.chat.eos_id, self.chat.tokenizer.decode_bytes, params, len(prompt), seed)
        # END SOLUTION

    async def admit(self) -> None:
        """Take a slot (waiting in line if needed); GenerationFullError when the line is full too."""
        # BEGIN SOLUTION c08.9: refuse at once when no slot is free and the line is full; else wait
        if self._slots.locked() and self.waiting >= self.max_waiting:
            raise GenerationFullError(f"{self.active} generations running and {self.waiting} waiting (the limits)")
        self.waiting += 1
        self.metrics.waiting.set(self.waiting)
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
            self.metrics.waiting.set(self.waiting)
        self.active += 1
        self.metrics.active.set(self.active)
        # END SOLUTION

    async def step(self, generation: Generation) -> TokenStep:
        """One token, computed on the worker thread."""
        return await asyncio.get_running_loop().run_in_executor(self._worker, generation.step)

    async def release(self, generation: Generation | None, *, cancelled: bool = False) -> None:
        """Free the generation's cache (after its in-flight step) and its slot; count a cancellation."""
        try:
            # A generation that reached its end has closed itself; one stopped before (the client went away,
            # or a step failed) still holds its token generator, and with it the KV cache.
            if cancelled or (generation is not None and not generation.released):
                await self.stop_early(generation, cancelled)
        finally:
            # BEGIN SOLUTION c08.9: the slot back and the active gauge down, whatever happened
            self.active -= 1
            self.metrics.active.set(self.active)
            self._slots.release()
            # END SOLUTION

    async def stop_early(self, generation: Generation | None, cancelled: bool) -> None:
        """Close an unfinished generation on the worker, behind its in-flight step; count a cancellation."""
        # BEGIN SOLUTION c08.10: close on the worker (behind the step), even if this task is cancelled
        if generation is not None and not generation.released:
            closing = asyncio.get_running_loop().run_in_executor(self._worker, generation.close)
            with contextlib.suppress(asyncio.CancelledError):  # the close still runs on the worker
                await asyncio.shield(closing)
        if cancelled:
            self.metrics.cancelled.inc()
        # END SOLUTION

    def close(self) -> None:
        self._worker.shutdown(wait=True, cancel_futures=True)
