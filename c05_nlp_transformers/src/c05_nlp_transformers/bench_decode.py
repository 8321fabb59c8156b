"""The decode table of ``python -m c05_nlp_transformers.bench --part decode``: float32, int8, Q8_0, Q4_1.

For each prompt length (32 and 512 random token ids) and ``new_tokens`` greedy tokens, in one process:

* **decode tokens/s** (first new token to last) of our float32 model and of its three quantised
  copies (:func:`~c05_nlp_transformers.quant_llama.quantize_llama`: int8 per channel, Q8_0, the
  file's own Q4_1), each against our float32, and of transformers' ``generate`` on the same weights;
* **prefill** (seconds from the call to the first new token) of each, against our float32;
* llama.cpp's figure on the same GGUF file, quoted with its settings (:data:`LLAMA_CPP_SETTING`):
  the Q4_1 row's ratio is ours over it.

The runs alternate between the models (fp32, int8, q8_0, q4_1, transformers, fp32, ...) and each
cell is the median of ``repeats``, so a burst of load on a shared machine hits every column.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import torch

from c05_nlp_transformers.bench_llm import LLM_PROMPTS, _medians, _ours, _theirs, load_oracle
from c05_nlp_transformers.bench_table import Row
from c05_nlp_transformers.gguf import GGUFFile
from c05_nlp_transformers.llama import Llama, load_llama
from c05_nlp_transformers.quant_llama import KINDS, quantize_llama

# llama.cpp measured beside this course's float32 and int8 on the same machine (not rebuilt here:
# llama-cpp-python compiles llama.cpp from source, about 6 minutes).
LLAMA_CPP_TOKENS_PER_S = 194.5  # the middle of 191 to 198 over two rounds
LLAMA_CPP_SETTING = "Q4_1 file, 2 threads, greedy, 128 new, chat prompt; 191-198 tokens/s, 2026-12-06"
LLAMA_CPP_LABEL = "llama.cpp 0.3.36 (quoted)"


def bench_decode(prompts: Sequence[int] = LLM_PROMPTS, new_tokens: int = 32, repeats: int = 3, *,
                 model: Llama | None = None, gguf: GGUFFile | None = None, oracle: Any = "load",
                 quantized: dict[str, torch.nn.Module] | None = None) -> list[Row]:
    """Rows: decode tokens/s and prefill seconds of fp32, int8, q8_0, q4_1 (and transformers), one table.

    ``quantized``: the three quantised copies of ``model`` by kind, when the caller already built them.
    """
    if new_tokens < 2 or repeats < 1:
        raise ValueError("need at least 2 new tokens and 1 repeat")
    if model is None or gguf is None:
        if model is not None or gguf is not None:
            raise ValueError("pass the model and its GGUFFile together (or neither)")
        model, gguf = load_llama()
    oracle = load_oracle(gguf.path) if oracle == "load" else oracle
    models: dict[str, torch.nn.Module] = {"fp32": model}
    models.update({kind: quantize_llama(model, kind, gguf) if quantized is None else quantized[kind] for kind in KINDS})
    rows: list[Row] = []
    q4_1_rate = 0.0
    generator = torch.Generator().manual_seed(0)
    for length in prompts:
        prompt = torch.randint(100, 40000, (length,), generator=generator).tolist()
        runs: list[Callable[[], tuple[float, float]]] = [
            functools.partial(_ours, m, prompt, new_tokens) for m in models.values()]
        if oracle is not None:
            runs.append(functools.partial(_theirs, oracle, prompt, new_tokens))
        results = _medians(runs, repeats)
        (fp32_latency, fp32_rate), setting = results[0], f"prompt {length}, {new_tokens} new"
        for name, (_, rate) in zip(models, results, strict=False):
            rows.append(Row("SmolLM2 decode", setting, f"ours {name} (tokens/s)", rate, "ours fp32 (tokens/s)",
                            fp32_rate))
        if oracle is not None:
            rows.append(Row("SmolLM2 decode", setting, "transformers (tokens/s)", results[-1][1],
                            "ours fp32 (tokens/s)", fp32_rate))
        for name, (latency, _) in zip(models, results, strict=False):
            rows.append(Row("SmolLM2 prefill", f"prompt {length}", f"ours {name} (s)", latency, "ours fp32 (s)",
                            fp32_latency))
        q4_1_rate = q4_1_rate or results[list(models).index("q4_1")][1]
    rows.append(Row("llama.cpp", LLAMA_CPP_SETTING, f"ours q4_1, prompt {prompts[0]} (tokens/s)", q4_1_rate,
                    LLAMA_CPP_LABEL, LLAMA_CPP_TOKENS_PER_S))
    return rows
