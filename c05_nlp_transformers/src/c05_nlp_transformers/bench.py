"""Benchmark the tokenizer, training and generation: ``python -m c05_nlp_transformers.bench``.

Three measurements, one table:

* **BPE encode**: MB/s of our tokenizer on the whole Tiny Shakespeare corpus (1.1 MB), with an
  empty chunk cache (*cold*: a fresh tokenizer) and a filled one (*warm*: the same text again),
  against the ``tokenizers`` library (Rust) given the very same merges. The ratio is ours /
  theirs; both must produce identical ids (checked). Training the merges is timed too.
* **GPT training**: training tokens per second (batch x context x iterations / time) of the
  reference configuration on the corpus, after a few untimed warm-up iterations.
* **SmolLM2** (part 2, ``--part 2``; see :mod:`~c05_nlp_transformers.bench_llm`): our generation
  against transformers', first-token latency, int8 against float32.
* **Generation**: decode tokens per second at prompt lengths 64, 256 and 1024, with and without
  the KV cache, greedy, on a randomly initialised GPT of the reference width whose context holds
  1024 + the new tokens (the trained reference model's context is 64, too short to show the
  trend; speed does not depend on the weights). The clock runs from the first new token to the
  last, so the one-off prefill is left out: what remains is the cost per new token. The ratio is
  the speed-up of the cache.

Wall-clock numbers on a shared machine are noisy: each cell is the best of ``--repeats`` runs.
The ``tokenizers`` library is optional (a test dependency); without it the baseline is "-".
"""

from __future__ import annotations

import argparse
import functools
import importlib
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch

from c05_nlp_transformers.bench_table import Row, best_of, render_table
from c05_nlp_transformers.bpe import BPETokenizer
from c05_nlp_transformers.bpe_train import train_bpe
from c05_nlp_transformers.data import CharTokenizer, get_batch, load_tinyshakespeare, train_val_split
from c05_nlp_transformers.generate import stream
from c05_nlp_transformers.model import GPT, GPTConfig
from c05_nlp_transformers.train import PRESETS, TrainConfig, make_optimizer

PREFIXES = (64, 256, 1024)
BPE_VOCAB = 1024


def _hf_tokenizer(tokenizer: BPETokenizer) -> Any | None:
    """The same merges in the ``tokenizers`` library (None when it is not installed)."""
    try:
        hf: Any = importlib.import_module("tokenizers")
    except ImportError:
        return None
    vocab, merges = tokenizer.to_gpt2()
    oracle = hf.Tokenizer(hf.models.BPE(vocab=vocab, merges=merges))
    oracle.pre_tokenizer = hf.pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    return oracle


def bench_tokenizer(text: str, vocab_size: int = BPE_VOCAB, repeats: int = 3) -> list[Row]:
    start = time.perf_counter()
    trained = train_bpe(text, vocab_size).tokenizer
    train_s = time.perf_counter() - start
    megabytes = len(text.encode("utf-8")) / 1e6
    setting = f"{megabytes:.2f} MB, vocab {vocab_size}"

    def rate(encode: Callable[[str], object]) -> float:
        """MB/s of one call ``encode(text)``; only the call is timed."""
        start = time.perf_counter()
        encode(text)
        return megabytes / (time.perf_counter() - start)

    def fresh() -> BPETokenizer:  # an empty chunk cache
        return BPETokenizer(trained.vocab, trained.merges, trained.special_tokens, trained.pattern)

    cold = best_of(lambda: rate(fresh().encode), repeats)  # fresh() runs before the clock starts
    ids = trained.encode(text)  # fills the cache
    warm = best_of(lambda: rate(trained.encode), repeats)
    oracle = _hf_tokenizer(trained)
    theirs = None
    if oracle is not None:
        if oracle.encode(text).ids != ids:
            raise AssertionError("our ids differ from the tokenizers library's on the benchmark text")
        theirs = best_of(lambda: rate(oracle.encode), repeats)
    label = "tokenizers (MB/s)" if theirs is not None else "-"
    return [
        Row("BPE train", setting, "seconds", train_s),
        Row("BPE encode", setting, "cold cache (MB/s)", cold, label, theirs),
        Row("BPE encode", setting, "warm cache (MB/s)", warm, label, theirs),
    ]


def bench_training(text: str, config: TrainConfig, iters: int = 20, warmup: int = 3) -> list[Row]:
    tokenizer = CharTokenizer.from_text(text)
    train_data, _ = train_val_split(torch.tensor(tokenizer.encode(text), dtype=torch.long))
    torch.manual_seed(config.seed)
    model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=config.block_size, n_layer=config.n_layer,
                          n_head=config.n_head, n_embd=config.n_embd, bias=config.bias))
    optimizer = make_optimizer(model, config)
    generator = torch.Generator().manual_seed(config.seed)

    def step() -> None:
        x, y = get_batch(train_data, config.batch_size, config.block_size, generator)  # (B, T)
        _, loss = model(x, y)
        assert loss is not None
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for _ in range(warmup):
        step()
    start = time.perf_counter()
    for _ in range(iters):
        step()
    tokens_per_s = iters * config.batch_size * config.block_size / (time.perf_counter() - start)
    shape = f"{config.n_layer}L {config.n_head}H {config.n_embd}w, ctx {config.block_size}, batch {config.batch_size}"
    return [Row("GPT training", shape, "tokens/s", tokens_per_s)]


def decode_rate(model: GPT, prompt: list[int], new_tokens: int, use_cache: bool) -> float:
    """New tokens per second from the first new token to the last (the prefill left out)."""
    times = [time.perf_counter() for _ in stream(model, prompt, new_tokens, use_cache=use_cache)]
    return (len(times) - 1) / (times[-1] - times[0])


def bench_generation(
    prefixes: Sequence[int] = PREFIXES, new_tokens: int = 32, repeats: int = 3, width: int = 128, seed: int = 0
) -> list[Row]:
    if new_tokens < 2:
        raise ValueError("need at least 2 new tokens to time the decode steps")
    torch.manual_seed(seed)
    config = GPTConfig(vocab_size=65, block_size=max(prefixes) + new_tokens, n_embd=width)
    model = GPT(config).eval()
    rows = []
    for prefix in prefixes:
        prompt = torch.randint(0, config.vocab_size, (prefix,), generator=torch.Generator().manual_seed(seed)).tolist()
        cached = best_of(functools.partial(decode_rate, model, prompt, new_tokens, True), repeats)
        uncached = best_of(functools.partial(decode_rate, model, prompt, new_tokens, False), repeats)
        rows.append(Row("generation", f"prefix {prefix}, {new_tokens} new", "KV cache (tokens/s)", cached,
                        "no cache (tokens/s)", uncached))
    return rows


def run_benchmark(
    *,
    text: str | None = None,
    bpe_vocab: int = BPE_VOCAB,
    train_config: TrainConfig = PRESETS["reference"],
    train_iters: int = 20,
    prefixes: Sequence[int] = PREFIXES,
    new_tokens: int = 32,
    repeats: int = 3,
) -> list[Row]:
    """Every row of the table (no printing). ``text`` defaults to the whole corpus."""
    if repeats < 1 or train_iters < 1 or not prefixes:
        raise ValueError("need repeats >= 1, train_iters >= 1 and at least one prefix length")
    text = load_tinyshakespeare() if text is None else text
    rows = bench_tokenizer(text, bpe_vocab, repeats)
    rows += bench_training(text, train_config, train_iters)
    rows += bench_generation(prefixes, new_tokens, repeats)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m c05_nlp_transformers.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per cell (the best is kept)")
    parser.add_argument("--train-iters", type=int, default=20, help="timed training iterations")
    parser.add_argument("--prefixes", type=int, nargs="+", default=list(PREFIXES))
    parser.add_argument("--bpe-vocab", type=int, default=BPE_VOCAB, help="vocabulary size of the BPE trained to time")
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--quick", action="store_true", help="1 repeat, 5 training iterations, prefixes 64 256")
    parser.add_argument("--plain", action="store_true", help="plain-text table even if rich is installed")
    parser.add_argument("--part", choices=["1", "2", "decode", "all"], default="all",
                        help="1: tokenizer, GPT training and generation; 2: SmolLM2 (bench_llm.py); decode: "
                             "fp32, int8, Q8_0 and Q4_1 decoding (bench_decode.py); all: every part")
    parser.add_argument("--llm-prompts", type=int, nargs="+", default=[32, 512], help="SmolLM2 prompt lengths")
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    if args.quick:
        args.repeats, args.train_iters, args.prefixes = 1, 5, [64, 256]
    rows = []
    if args.part in ("1", "all"):
        rows = run_benchmark(bpe_vocab=args.bpe_vocab, train_iters=args.train_iters, prefixes=args.prefixes,
                             new_tokens=args.new_tokens, repeats=args.repeats)
    if args.part in ("2", "all"):
        from c05_nlp_transformers.bench_llm import bench_llm  # imports transformers: only when part 2 runs

        rows += bench_llm(args.llm_prompts, args.new_tokens, args.repeats)
    if args.part in ("decode", "all"):
        from c05_nlp_transformers.bench_decode import bench_decode  # quantised copies of SmolLM2: only when asked

        rows += bench_decode(args.llm_prompts, args.new_tokens, args.repeats)
    print(render_table(rows, plain=args.plain), end="")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
