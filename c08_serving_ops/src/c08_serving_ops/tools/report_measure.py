"""The measurements behind the service's benchmark report (:mod:`c08_serving_ops.report`).

Everything goes through HTTP to a running server, with the course's own tools: the closed-loop
load generator (:func:`~c08_serving_ops.tools.loadgen.run_load`), the streaming client of the generation
benchmark (:func:`~c08_serving_ops.tools.bench_generation.stream_once`) and the soak's RSS sampler. What
this file adds is the bookkeeping a report needs and a benchmark table does not keep:

* **a stated window.** Each cell (route x concurrency) first runs ``warmup_s`` of the same load and
  throws it away, then records the requests *sent* during the next ``window_s`` seconds (those in
  flight at the end are awaited). A generating cell is bounded by requests as well (``concurrency x
  generation_requests_per_client``) and warmed by the route's probe only: one generation takes about
  a second, so at concurrency 32 a time bound alone, or a warm-up round, would mean minutes.
* **the raw samples.** Every latency of the window is kept (rounded to a microsecond), and the
  percentiles are ``numpy.percentile`` over exactly those samples, so anyone can recompute them.
* **the server's CPU-seconds** (``psutil`` ``cpu_times``: user + system of the server's process)
  over each window, and the deltas of its own Prometheus counters (inputs per forward pass of the
  embedding batcher, tokens generated), so that cost is priced from what the server spent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
import psutil  # type: ignore[import-untyped]  # the bench and test extras, as for soak.py
from prometheus_client.parser import text_string_to_metric_families

from c08_serving_ops.tools.bench_generation import stream_clients
from c08_serving_ops.tools.loadgen import check_loopback, run_load

PERCENTILES = (50.0, 95.0, 99.0)
# A request's own bound, far above any latency measured: a client that gave up would drop the slowest
# answers from the window (the 32nd queued generation waits for the 31 before it)
REQUEST_TIMEOUT_S = 600.0
Body = Callable[[str], dict[str, Any]]  # query text -> JSON body


@dataclass(frozen=True)
class Route:
    """One row group of the latency table: a path, how its body is made, and whether it generates."""

    name: str
    path: str
    body: Body
    generates: bool = False


def routes(top_k: int, rag_top_k: int, max_new_tokens: int) -> list[Route]:
    """The report's routes: retrieval, embedding, /rag on both of its routes."""
    return [
        Route("/search hybrid", "/search", lambda q: {"query": q, "mode": "hybrid", "top_k": top_k}),
        Route("/embed", "/embed", lambda q: {"inputs": q, "truncate": True}),
        Route("/rag extractive", "/rag", lambda q: {"query": q, "route": "extractive", "top_k": rag_top_k}),
        Route("/rag generate", "/rag", lambda q: {"query": q, "route": "generate", "top_k": rag_top_k,
                                                  "max_new_tokens": max_new_tokens}, generates=True),
    ]


def percentiles(samples: Sequence[float]) -> dict[str, float]:
    """p50, p95, p99 of ``samples`` (numpy's default linear interpolation); NaN for none."""
    if len(samples) == 0:
        return {f"p{q:g}": float("nan") for q in PERCENTILES}
    values = np.percentile(np.asarray(samples, dtype=np.float64), PERCENTILES)
    return {f"p{q:g}": float(v) for q, v in zip(PERCENTILES, values, strict=True)}


def distinct_query(texts: Sequence[str], number: int) -> str:
    """Query ``number`` of an endless stream over ``texts``: each lap adds its number, so the cache never hits."""
    lap, index = divmod(number, len(texts))
    return texts[index] if lap == 0 else f"{texts[index]} {lap}"


def cpu_seconds(pid: int) -> float:
    """User + system CPU-seconds the process ``pid`` has spent so far (all its threads)."""
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def counters(url: str) -> dict[str, float]:
    """The server's /metrics samples that the report uses, summed over their labels."""
    text = httpx.get(f"{url}/metrics", timeout=30.0).text
    wanted = ("c08_batch_size_sum", "c08_batch_size_count", "c08_generated_tokens_total")
    totals = dict.fromkeys(wanted, 0.0)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in totals:
                totals[sample.name] += float(sample.value)
    return totals


def probe(url: str, route: Route, query: str) -> dict[str, Any]:
    """Send ``route`` one request and return its answer; a route that does not answer 200 stops the report.

    Raises:
        NotImplementedError: the server answered 500 because the route's code raised NotImplementedError.
        RuntimeError: any other answer than 200 (the latencies of refusals must not fill a table).
    """
    check_loopback(url)
    response = httpx.post(f"{url}{route.path}", json=route.body(query), timeout=REQUEST_TIMEOUT_S)
    if response.status_code == 200:
        answer: dict[str, Any] = response.json()
        return answer
    if response.status_code == 500 and "NotImplementedError" in response.text:
        raise NotImplementedError(f"{route.name} is not implemented yet: {response.text}")
    raise RuntimeError(f"{route.name} answered {response.status_code}: {response.text[:300]}")


@dataclass(frozen=True)
class CellPlan:
    """How long each cell runs: ``warmup_s`` thrown away, then the ``window_s`` recorded.

    ``generation_requests_per_client`` bounds a generating cell's window in requests too.
    """

    window_s: float
    warmup_s: float
    generation_requests_per_client: int = 1


def measure_cell(url: str, pid: int, route: Route, concurrency: int, texts: Sequence[str], plan: CellPlan,
                 first_query: int) -> dict[str, Any]:
    """One (route, concurrency) cell: its warm-up, then its window with CPU-seconds and counter deltas.

    Queries ``first_query``, ``first_query + 1``, ... are sent (see :func:`distinct_query`); the row's
    ``queries_used`` says how many, so the next cell starts after them.
    """
    bound = concurrency * plan.generation_requests_per_client if route.generates else 10**9

    def body(offset: int) -> Callable[[int], dict[str, Any] | None]:
        return lambda number: route.body(distinct_query(texts, offset + number))

    warmed = 0  # a generating route is warmed by its probe only: a warm-up round at 32 would double the cell
    if plan.warmup_s > 0 and not route.generates:
        warmed = asyncio.run(run_load(url, route.path, body(first_query), concurrency=concurrency,
                                      max_requests=bound, max_seconds=plan.warmup_s,
                                      timeout_s=REQUEST_TIMEOUT_S)).requests
    start_query = first_query + warmed
    before_cpu, before = cpu_seconds(pid), counters(url)
    window = asyncio.run(run_load(url, route.path, body(start_query), concurrency=concurrency,
                                  max_requests=bound, max_seconds=plan.window_s, timeout_s=REQUEST_TIMEOUT_S))
    cpu, after = cpu_seconds(pid) - before_cpu, counters(url)
    samples = [round(ms, 3) for ms in window.latencies_ms]
    batches = after["c08_batch_size_count"] - before["c08_batch_size_count"]
    return {"route": route.name, "path": route.path, "concurrency": concurrency, "requests": window.requests,
            "non_200": window.requests - window.statuses.get(200, 0), "warmup_requests": warmed,
            "window_s": round(window.seconds, 3), "qps": window.requests / window.seconds,
            **percentiles(samples), "server_cpu_s": cpu,
            "mean_batch_size": (after["c08_batch_size_sum"] - before["c08_batch_size_sum"]) / batches
            if batches else None,
            "generated_tokens": after["c08_generated_tokens_total"] - before["c08_generated_tokens_total"],
            "samples_ms": samples, "queries_used": warmed + window.requests}


def latency_table(url: str, pid: int, chosen: Sequence[Route], concurrencies: Sequence[int],
                  texts: Sequence[str], plan: CellPlan) -> list[dict[str, Any]]:
    """Every route at every concurrency, each route probed first; distinct queries throughout a route."""
    rows = []
    for route in chosen:
        probe(url, route, texts[-1])  # also warms the route (first model call, first index read)
        next_query = 0
        for concurrency in concurrencies:
            row = measure_cell(url, pid, route, concurrency, texts, plan, next_query)
            next_query += row["queries_used"]
            rows.append(row)
    return rows


def streaming_row(url: str, concurrency: int, requests_per_client: int, max_new_tokens: int) -> dict[str, Any]:
    """TTFT and inter-token latency (ms, timed at the client per token event) of streamed /generate requests."""
    check_loopback(url)
    ttfts, gaps, tokens, wall = asyncio.run(stream_clients(url, concurrency, requests_per_client, max_new_tokens,
                                                             REQUEST_TIMEOUT_S))
    ttft_ms = [round(s * 1000, 3) for s in ttfts]
    itl_ms = [round(s * 1000, 3) for s in gaps]
    return {"concurrency": concurrency, "requests": len(ttfts), "tokens": tokens, "seconds": round(wall, 3),
            "tokens_per_s": tokens / wall, **{f"ttft_{k}": v for k, v in percentiles(ttft_ms).items()},
            **{f"itl_{k}": v for k, v in percentiles(itl_ms).items()}, "ttft_samples_ms": ttft_ms,
            "itl_samples_ms": itl_ms}


@dataclass(frozen=True)
class CostSplit:
    """The CPU cost of one generated answer, split into retrieval and generation."""

    retrieval_cpu_s: float  # per request
    generation_cpu_s: float  # per request: the rest of a /rag generate request (prompt, prefill, decoding)
    tokens: float  # generated tokens per request
    usd_per_vcpu_hour: float

    @property
    def retrieval_share(self) -> float:
        total = self.retrieval_cpu_s + self.generation_cpu_s
        return self.retrieval_cpu_s / total if total > 0 else float("nan")

    @property
    def usd_per_request(self) -> float:
        return (self.retrieval_cpu_s + self.generation_cpu_s) * self.usd_per_vcpu_hour / 3600.0

    @property
    def usd_per_1k_tokens(self) -> float:
        return self.usd_per_request / self.tokens * 1000.0 if self.tokens > 0 else float("nan")


def cost_split(retrieval_cpu_s: float, rag_cpu_s: float, tokens: float, usd_per_vcpu_hour: float) -> CostSplit:
    """Split a /rag generate request's CPU-seconds (``rag_cpu_s``) into retrieval and the rest.

    ``retrieval_cpu_s`` is what a request spends retrieving (measured on /rag's extractive route, which
    retrieves the same way and generates nothing); the generation share is what remains (never below 0).
    """
    if min(retrieval_cpu_s, rag_cpu_s, tokens, usd_per_vcpu_hour) < 0:
        raise ValueError("CPU-seconds, tokens and the price must not be negative")
    return CostSplit(retrieval_cpu_s, max(rag_cpu_s - retrieval_cpu_s, 0.0), tokens, usd_per_vcpu_hour)


def per_request(rows: Sequence[dict[str, Any]], route: str, key: str) -> float:
    """``key`` summed over ``route``'s rows, per request of those rows."""
    chosen = [r for r in rows if r["route"] == route]
    requests = sum(r["requests"] for r in chosen)
    return sum(float(r[key]) for r in chosen) / requests if requests else float("nan")
