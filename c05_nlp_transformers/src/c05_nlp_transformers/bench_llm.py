"""Part 2 rows of ``python -m c05_nlp_transformers.bench``: SmolLM2 generation, ours against transformers.

For each prompt length (32 and 512 random token ids), greedy generation of ``new_tokens`` tokens:

* **decode tokens/s** from the first new token to the last (the prefill left out), ours (float32,
  :mod:`~c05_nlp_transformers.inference`) against transformers' ``generate`` on the same weights,
  timed through a streamer that notes when each token arrives;
* **first-token latency** (seconds from the call to the first new token: the prefill);
* **int8**: our per-channel weight-only int8 model and torch's dynamic quantisation against our
  float32 model.

Runs alternate (ours, theirs, ours, ...) and each cell is the median of ``repeats`` runs, so a
burst of load on a shared machine hits both sides. The LoRA fine-tune's time, EM and F1 come from
``python -m c05_nlp_transformers.finetune`` (a 10-minute run; figures in the README).
"""

from __future__ import annotations

import functools
import os
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch

from c05_nlp_transformers.bench_table import Row
from c05_nlp_transformers.inference import stream_tokens
from c05_nlp_transformers.llama import Llama, load_llama
from c05_nlp_transformers.quantize import quantize_dynamic, quantize_int8

LLM_PROMPTS = (32, 512)


def load_oracle(model_path: Any) -> Any:
    """transformers' model from the same GGUF file (offline), or None when transformers is missing."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        from transformers import AutoModelForCausalLM
    except ImportError:
        return None
    oracle = AutoModelForCausalLM.from_pretrained(str(model_path.parent), gguf_file=model_path.name,
                                                  dtype=torch.float32)
    oracle.eval()  # type: ignore[no-untyped-call]
    return oracle


class _Clock:
    """A transformers streamer that notes when each batch of tokens arrives (the prompt first)."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def put(self, value: torch.Tensor) -> None:
        self.times.append(time.perf_counter())

    def end(self) -> None:
        pass


def _ours(model: torch.nn.Module, prompt: list[int], new_tokens: int) -> tuple[float, float]:
    """(first-token seconds, decode tokens/s) of our generation."""
    start = time.perf_counter()
    times = [time.perf_counter() for _ in stream_tokens(model, prompt, new_tokens)]  # type: ignore[arg-type]
    return times[0] - start, (len(times) - 1) / (times[-1] - times[0])


def _theirs(oracle: Any, prompt: list[int], new_tokens: int) -> tuple[float, float]:
    clock = _Clock()
    start = time.perf_counter()
    with torch.inference_mode():
        oracle.generate(torch.tensor([prompt]), max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                        do_sample=False, streamer=clock)
    new = clock.times[1:]  # the first put() is the prompt
    return new[0] - start, (len(new) - 1) / (new[-1] - new[0])


def _medians(runs: Sequence[Callable[[], tuple[float, float]]], repeats: int) -> list[tuple[float, float]]:
    """Median (latency, rate) of each run, the runs interleaved ``repeats`` times."""
    results: list[list[tuple[float, float]]] = [[] for _ in runs]
    for _ in range(repeats):
        for n, run in enumerate(runs):
            results[n].append(run())
    return [(statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs)) for rs in results]


def bench_llm(prompts: Sequence[int] = LLM_PROMPTS, new_tokens: int = 32, repeats: int = 3, *,
              model: Llama | None = None, oracle: Any = "load") -> list[Row]:
    """Rows for SmolLM2: ours vs transformers (fp32), and int8 vs fp32 (ours)."""
    if new_tokens < 2 or repeats < 1:
        raise ValueError("need at least 2 new tokens and 1 repeat")
    if model is None:
        model, gguf = load_llama()
        oracle = load_oracle(gguf.path) if oracle == "load" else oracle
    elif oracle == "load":
        raise ValueError("pass the oracle (or None) together with a model")
    int8, dynamic = quantize_int8(model), quantize_dynamic(model)
    rows = []
    generator = torch.Generator().manual_seed(0)
    for length in prompts:
        prompt = torch.randint(100, 40000, (length,), generator=generator).tolist()
        runs: list[Callable[[], tuple[float, float]]] = [
            functools.partial(_ours, m, prompt, new_tokens) for m in (model, int8, dynamic)]
        if oracle is not None:
            runs.append(functools.partial(_theirs, oracle, prompt, new_tokens))
        fp32, ours_int8, ours_dynamic, *theirs = _medians(runs, repeats)
        setting = f"prompt {length}, {new_tokens} new"
        hf = theirs[0] if theirs else None
        label = "transformers (tokens/s)" if hf else "-"
        rows.append(Row("SmolLM2 decode", setting, "ours fp32 (tokens/s)", fp32[1], label, hf[1] if hf else None))
        rows.append(Row("SmolLM2 first token", f"prompt {length}", "ours fp32 (s)", fp32[0],
                        "transformers (s)" if hf else "-", hf[0] if hf else None))
        rows.append(Row("SmolLM2 int8", setting, "ours int8 (tokens/s)", ours_int8[1], "ours fp32 (tokens/s)", fp32[1]))
        rows.append(Row("SmolLM2 int8", setting, "torch dynamic (tokens/s)", ours_dynamic[1], "ours fp32 (tokens/s)",
                        fp32[1]))
    return rows
