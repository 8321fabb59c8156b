"""``python -m c08_serving_ops.tools.bench_generation`` (part 2 of c08's ``make bench``): streaming generation figures.

Against a real server process (generation on, in-memory indexes, one torch thread, quotas off):

1. **Streaming**: time to first token (TTFT) and inter-token latency (ITL) p50/p95, and the
   server's total tokens/s, with 1, 4 and 8 clients each streaming ``/generate`` requests; the
   times are taken by the client as each token event arrives.
2. **Serving overhead**: the same greedy generation called in this process (c05's
   ``stream_tokens``, one thread) against one streaming client: tokens/s in process over tokens/s
   through HTTP and SSE (1.0 = no overhead).
3. **/rag by stage**: ``/search`` (the retrieval stage), ``/rag`` on the extractive route
   (retrieval + the sentence pick) and ``/rag`` generating ``max_new_tokens``; p50 of each.

The client and the server share the machine's cores: at concurrency 8 the figures include that
competition. Results print as Markdown tables and, with ``--json``, to a file.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import httpx

from c08_serving_ops.tools.loadgen import check_loopback, percentile
from c08_serving_ops.tools.process import ServerProcess

if TYPE_CHECKING:
    from c05_nlp_transformers.chat import ChatModel
    from c05_nlp_transformers.llama import Llama

UNLIMITED = {"C08_RATE_PER_S": "1000000", "C08_BURST": "1000000", "C08_MAX_IN_FLIGHT": "4096",
             "C08_GENERATION": "true", "C08_RERANK": "false", "C08_MAX_ACTIVE_GENERATIONS": "8"}
# ChatML (the /generate prompt is raw text): an instruction that makes a long answer, so every request runs
# its max_new_tokens
PROMPT = ("<|im_start|>user\nWrite a long essay about the history of aviation.<|im_end|>\n"
          "<|im_start|>assistant\n")
RAG_QUERY = "what similarity laws must be obeyed when constructing aeroelastic models of heated high speed aircraft"


async def stream_once(http: httpx.AsyncClient, max_new_tokens: int) -> tuple[float, list[float], int]:
    """(TTFT seconds, inter-token gaps, tokens) of one streamed /generate request, timed at the client."""
    started = time.perf_counter()
    arrivals: list[float] = []
    async with http.stream("POST", "/generate", json={"inputs": PROMPT, "stream": True, "parameters": {
            "max_new_tokens": max_new_tokens}}) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if line.startswith("data:") and "[DONE]" not in line:
                arrivals.append(time.perf_counter())
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    return arrivals[0] - started, gaps, len(arrivals)


async def stream_clients(url: str, concurrency: int, requests_per_client: int, max_new_tokens: int,
                         timeout_s: float = 300.0) -> tuple[list[float], list[float], int, float]:
    """``concurrency`` clients, each streaming ``requests_per_client`` requests one after another.

    Returns every request's TTFT, every gap between token events (seconds), the tokens and the wall time.
    """
    ttfts: list[float] = []
    gaps: list[float] = []
    tokens = 0

    async def client() -> None:
        nonlocal tokens
        async with httpx.AsyncClient(base_url=url, timeout=timeout_s) as http:
            for _ in range(requests_per_client):
                ttft, between, n = await stream_once(http, max_new_tokens)
                ttfts.append(ttft)
                gaps.extend(between)
                tokens += n

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return ttfts, gaps, tokens, time.perf_counter() - started


async def streaming_cell(url: str, concurrency: int, requests_per_client: int, max_new_tokens: int,
                         ) -> dict[str, Any]:
    """One row: ``concurrency`` clients, each streaming ``requests_per_client`` requests one after another."""
    check_loopback(url)
    ttfts, gaps, tokens, wall = await stream_clients(url, concurrency, requests_per_client, max_new_tokens)
    return {"concurrency": concurrency, "requests": concurrency * requests_per_client,
            "ttft_p50_ms": ms(ttfts, 50), "ttft_p95_ms": ms(ttfts, 95), "itl_p50_ms": ms(gaps, 50),
            "itl_p95_ms": ms(gaps, 95),
            "tokens_per_s": round(tokens / wall, 2)}


def ms(values: list[float], q: float) -> float:
    return round(percentile(values, q) * 1000, 1)


def in_process_tokens_per_s(max_new_tokens: int, repeats: int, chat: ChatModel | None = None) -> float:
    """Greedy tokens/s of c05's decoding loop in this process (one thread), the baseline of the overhead."""
    import torch

    from c05_nlp_transformers.chat import load_chat_model
    from c05_nlp_transformers.inference import generate_tokens

    torch.set_num_threads(1)
    chat = chat or load_chat_model(threads=1)
    model = cast("Llama", chat.model)
    prompt = chat.tokenizer.encode(PROMPT)
    generate_tokens(model, prompt, 2)  # warm-up
    started, tokens = time.perf_counter(), 0
    for _ in range(repeats):
        tokens += len(generate_tokens(model, prompt, max_new_tokens, eos_ids=[chat.eos_id]))
    return tokens / (time.perf_counter() - started)


def rag_stages(url: str, repeats: int, max_new_tokens: int) -> dict[str, Any]:
    """p50 latency of /search (hybrid), /rag extractive and /rag generating ``max_new_tokens``."""
    check_loopback(url)
    times: dict[str, list[float]] = {"search_ms": [], "rag_extractive_ms": [], "rag_generate_ms": []}
    bodies: dict[str, tuple[str, dict[str, Any]]] = {"search_ms": ("/search", {"query": RAG_QUERY, "top_k": 3}),
              "rag_extractive_ms": ("/rag", {"query": RAG_QUERY, "route": "extractive"}),
              "rag_generate_ms": ("/rag", {"query": RAG_QUERY, "top_k": 3, "max_new_tokens": max_new_tokens})}
    with httpx.Client(base_url=url, timeout=300.0) as http:
        for i in range(repeats):
            for name, (path, body) in bodies.items():
                started = time.perf_counter()
                http.post(path, json={**body, "query": f"{RAG_QUERY} {i}"}).raise_for_status()  # no cache hits
                times[name].append(time.perf_counter() - started)
    row: dict[str, Any] = {name: round(percentile(values, 50) * 1000, 1) for name, values in times.items()}
    row["max_new_tokens"] = max_new_tokens
    return row


def markdown(rows: Sequence[dict[str, Any]]) -> str:
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    return "\n".join(lines + ["| " + " | ".join(str(r[c]) for c in columns) + " |" for r in rows])


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m c08_serving_ops.tools.bench_generation",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", default="1,4,8", help="comma-separated numbers of streaming clients")
    parser.add_argument("--requests", type=int, default=3, help="requests per client and cell")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--rag-repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    results: dict[str, Any] = {}
    with ServerProcess(["--in-memory"], env=UNLIMITED) as server:
        results["streaming"] = [asyncio.run(streaming_cell(server.url, int(c), args.requests, args.max_new_tokens))
                                for c in args.concurrency.split(",")]
        print("## Streaming /generate\n\n" + markdown(results["streaming"]) + "\n", flush=True)
        results["rag"] = rag_stages(server.url, args.rag_repeats, args.max_new_tokens)
        print("## /rag by stage (p50)\n\n" + markdown([results["rag"]]) + "\n", flush=True)
    baseline = in_process_tokens_per_s(args.max_new_tokens, args.requests)
    served = results["streaming"][0]["tokens_per_s"]
    results["overhead"] = {"in_process_tokens_per_s": round(baseline, 2), "served_tokens_per_s_c1": served,
                           "ratio": round(baseline / served, 3)}
    print("## Serving overhead (concurrency 1)\n\n" + markdown([results["overhead"]]) + "\n", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
