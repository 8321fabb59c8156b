"""``python -m c08_serving_ops.bench`` (part of ``make bench``): load, batching, soak and fuzz figures.

Everything runs against real server processes on loopback ports (in-memory indexes,
quotas raised so the limiter does not shape the load):

1. **Load**: QPS and latency p50/p95/p99 per endpoint at concurrency 1, 8 and 32
   (each cell bounded by ``--requests`` and ``--seconds``).
2. **Batching**: /embed throughput at concurrency 32 with dynamic batching, then on a
   second server started with ``--no-batching``; the ratio (goal >= 3).
3. **Fuzz**: schemathesis over the OpenAPI schema; no 5xx.
4. **Soak** (:mod:`c08_serving_ops.tools.soak`): a server started as ``make serve`` runs it (XQuAD,
   generation on, one API key), every route and bad inputs for ``--soak-minutes`` (default 2.5);
   its RSS at ready, at the peak, after the load, and the slope (MiB/min). Every answer must be the
   expected one and the slope under :data:`SLOPE_LIMIT_MIB_PER_MIN`.
5. **Generation** (part 2, :mod:`c08_serving_ops.tools.bench_generation`; ``--no-generation`` skips it):
   streaming TTFT and inter-token latency at concurrency 1, 4, 8, the serving overhead, /rag by stage.

Results print as Markdown tables (the README quotes them) and, with ``--json``, to a file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from c06_retrieval_tools import load_cranfield
from c08_serving_ops.tools import bench_generation, soak
from c08_serving_ops.tools.fuzz import fuzz
from c08_serving_ops.tools.loadgen import BodyFn, LoadResult, run_load
from c08_serving_ops.tools.process import ServerProcess

UNLIMITED = {"C08_RATE_PER_S": "1000000", "C08_BURST": "1000000", "C08_MAX_IN_FLIGHT": "4096"}
SLOPE_LIMIT_MIB_PER_MIN = 20.0  # the soak's leak detector (README: measured slopes)
BATCHING_GOAL = 3.0
GENERATION_PATHS = ("/generate", "/v1/chat/completions", "/v1/models", "/v1/models/{model_id}", "/rag")  # 503 here


def query_texts() -> list[str]:
    return list(load_cranfield().queries.values())


def endpoints(texts: Sequence[str]) -> dict[str, tuple[str, BodyFn]]:
    """name -> (path, request number -> body): the traffic of each table row."""
    n = len(texts)
    return {
        "health": ("/health", lambda i: None),
        "embed": ("/embed", lambda i: {"inputs": texts[i % n], "truncate": True}),
        "search_bm25": ("/search", lambda i: {"query": texts[i % n], "mode": "bm25", "top_k": 10}),
        "search_hybrid": ("/search", lambda i: {"query": texts[i % n], "mode": "hybrid", "top_k": 10}),
    }


def load_table(url: str, texts: Sequence[str], concurrencies: Sequence[int], max_requests: int,
               max_seconds: float, names: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """One row per (endpoint, concurrency). Search queries cycle through ``texts`` (the cache sees repeats)."""
    rows = []
    for name, (path, body) in endpoints(texts).items():
        if names is not None and name not in names:
            continue
        for concurrency in concurrencies:
            result = asyncio.run(run_load(url, path, body, concurrency=concurrency, max_requests=max_requests,
                                          max_seconds=max_seconds))
            rows.append({**result.row(), "endpoint": name})
    return rows


def embed_throughput(url: str, texts: Sequence[str], concurrency: int, max_requests: int,
                     max_seconds: float) -> LoadResult:
    path, body = endpoints(texts)["embed"]
    return asyncio.run(run_load(url, path, body, concurrency=concurrency, max_requests=max_requests,
                                max_seconds=max_seconds))


def markdown(rows: Sequence[dict[str, Any]]) -> str:
    """A Markdown table of ``rows`` (the keys of the first row are the columns)."""
    if not rows:
        return ""
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(row.get(c, "")) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m c08_serving_ops.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", default="1,8,32", help="comma-separated concurrency levels")
    parser.add_argument("--requests", type=int, default=400, help="requests per load cell (at most)")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds per load cell (at most)")
    parser.add_argument("--soak-minutes", type=float, default=soak.DEFAULT_MINUTES,
                        help="the soak over every route on a make-serve server (soak.py); 0 skips it")
    parser.add_argument("--fuzz-examples", type=int, default=50, help="cases per operation and mode; 0 skips")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    parser.add_argument("--no-generation", dest="generation", action="store_false",
                        help="skip part 2's streaming generation figures (bench_generation)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    texts = query_texts()
    results: dict[str, Any] = {}
    with ServerProcess(["--in-memory"], env=UNLIMITED) as server:
        results["load"] = load_table(server.url, texts, concurrencies, args.requests, args.seconds)
        print("## Load (batching on)\n\n" + markdown(results["load"]) + "\n", flush=True)
        batched = embed_throughput(server.url, texts, 32, args.requests, args.seconds)
        if args.fuzz_examples > 0:
            results["fuzz"] = fuzz(server.url, args.fuzz_examples, skip_paths=GENERATION_PATHS).row()
            print("## Fuzz\n\n" + markdown([results["fuzz"]]) + "\n", flush=True)
    with ServerProcess(["--in-memory", "--no-batching"], env=UNLIMITED) as server:
        unbatched = embed_throughput(server.url, texts, 32, args.requests, args.seconds)
    results["batching"] = {"batched_qps": round(batched.qps, 1), "unbatched_qps": round(unbatched.qps, 1),
                           "ratio": round(batched.qps / unbatched.qps, 2), "goal": BATCHING_GOAL,
                           "batched_p99_ms": round(batched.p(99), 1), "unbatched_p99_ms": round(unbatched.p(99), 1)}
    print("## /embed at concurrency 32: batching on vs off\n\n" + markdown([results["batching"]]) + "\n", flush=True)
    if args.soak_minutes > 0:  # alone on the machine: the other servers have stopped
        report = soak.soak_make_serve(args.soak_minutes * 60)
        results["soak"] = {**report.row(), "routes": report.routes(), "unexpected_answers": report.unexpected}
        print("## Soak (make serve's configuration, every route, authenticated)\n\n" + markdown([report.row()])
              + "\n\n" + markdown(report.routes()) + "\n", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    if args.generation:  # part 2: streaming TTFT / ITL, serving overhead, /rag stages
        json_path = [] if args.json is None else ["--json", str(args.json.with_suffix(".generation.json"))]
        bench_generation.main(json_path)
    soak_ok = "soak" not in results or (results["soak"]["unexpected"] == 0
                                        and results["soak"]["slope_mib_per_min"] < SLOPE_LIMIT_MIB_PER_MIN)
    fuzz_ok = "fuzz" not in results or results["fuzz"]["server_errors"] == 0
    return 0 if soak_ok and fuzz_ok else 1


if __name__ == "__main__":
    sys.exit(main())
