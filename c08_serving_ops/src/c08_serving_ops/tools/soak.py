"""``python -m c08_serving_ops.tools.soak`` (part of ``make bench``): an authenticated soak over every route, memory
sampled.

A capacity plan needs the server's memory, not a guess: how much it holds once ready, how high
it goes under real traffic, and whether it keeps growing. This tool answers all three against
the real server process:

1. start ``python -m c08_serving_ops.server.serve`` as ``make serve`` runs it (XQuAD, generation on,
   two torch threads, its on-disk indexes) with one API key and the quotas lifted, on a free
   loopback port (or ``--url`` and ``--pid``: a server already running);
2. sample the server's resident set size (RSS, psutil) every ``--interval`` seconds from the
   moment it is ready;
3. send one warm-up round, then closed-loop rounds from ``--concurrency`` clients for
   ``--minutes``: every route with the key (probes, ``/metrics``, ``/embed``, ``/search`` in three
   modes, ``/documents`` written and deleted, ``/generate`` as JSON and as a stream,
   ``/v1/models``, ``/v1/chat/completions``, ``/rag`` on both routes) and bad inputs (malformed
   JSON, an empty query, a prompt with ``max_new_tokens`` 0, no key, an unknown route). Each call
   has its expected status; any other answer is counted as unexpected;
4. report RSS at ready, the start-up peak (the kernel's high-water mark ``VmHWM`` at ready:
   loading the models, building the indexes), the peak under load (the largest sample, or
   ``VmHWM`` restarted at ready when it is larger: it sees spikes between two samples), RSS after
   the load has stopped, and the **slope** of RSS over time during
   the load (MiB per minute, least squares, the warm-up fraction left out). A leak shows as a
   slope that does not fall towards 0 as the soak gets longer; a flat line with a high peak is
   a sizing question, which is what the Deployment's memory request and limit answer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil  # type: ignore[import-untyped]

from c08_serving_ops.tools.loadgen import check_loopback, percentile
from c08_serving_ops.tools.process import ServerProcess

MIB = 2.0**20
SOAK_KEY = "soak-key"
MAKE_SERVE_ARGS = ("--collection", "xquad", "--generation", "--torch-threads", "2",
                   "--index-path", "build/serve/xquad-index")  # the Makefile's serve target
# quotas lifted, the throttle on failed authentications too (each round sends one request without a key)
LIFTED = {"C08_RATE_PER_S": "1000000", "C08_BURST": "1000000", "C08_MAX_IN_FLIGHT": "4096",
          "C08_AUTH_FAILURE_BURST": "1000000"}
DEFAULT_MINUTES = 2.5  # make bench's soak; --minutes for a longer one
# glibc's allocator as deploy/Dockerfile sets it (README, "Memory"): two arenas instead of up to 8 per core, and
# blocks of 128 KiB or more (tensors) always mmap-ed, so that freeing them gives the memory back to the system
# (by default the threshold climbs to 32 MiB and freed tensors stay in the heap)
MALLOC_ENV = {"MALLOC_ARENA_MAX": "2", "MALLOC_MMAP_THRESHOLD_": "131072"}
WARMUP_FRACTION = 0.2  # of the load's duration, left out of the slope (first-touch allocations)
QUERIES = ("What year did Tesla die?", "Who founded the University of Chicago?", "What is the speed of light?",
           "Which river flows through Warsaw?", "How many people live in Victoria?")


@dataclass(frozen=True)
class Call:
    """One request of a round and the statuses that count as its right answer."""

    name: str
    method: str
    path: str
    json: Any = None
    content: bytes | None = None
    expect: frozenset[int] = frozenset({200})
    auth: bool = True
    generation: bool = False  # a route of the generation service (/generate, /v1, /rag)


def round_of_calls(number: int, model: str, anonymous: bool = True, generation: bool = True) -> list[Call]:
    """Round ``number``: every route once with the key, then the bad inputs (queries rotate between rounds).

    ``anonymous``: include the request without a key (a server counts it as a failed authentication).
    ``generation``: include the generation service's routes (a server started with generation off has none).
    """
    query = QUERIES[number % len(QUERIES)]
    doc_id = f"soak-doc-{number}"
    chat = {"model": model, "messages": [{"role": "user", "content": query}], "max_tokens": 8, "temperature": 0}
    bad = frozenset({400, 422})  # a refused body: 422 (FastAPI's default) or 400 (OpenAI's contract)
    calls = [
        Call("health", "GET", "/health"),
        Call("ready", "GET", "/ready"),
        Call("metrics", "GET", "/metrics"),
        Call("embed", "POST", "/embed", {"inputs": [query, f"{query} again"], "truncate": True}),
        Call("search_bm25", "POST", "/search", {"query": query, "mode": "bm25", "top_k": 5}),
        Call("search_dense", "POST", "/search", {"query": query, "mode": "dense", "top_k": 5}),
        Call("search_hybrid", "POST", "/search", {"query": query, "mode": "hybrid", "top_k": 5}),
        Call("documents_upsert", "POST", "/documents", {"documents": [{"id": doc_id, "text": f"soak text {query}"}]}),
        Call("documents_delete", "DELETE", f"/documents/{doc_id}"),
        Call("generate", "POST", "/generate", {"inputs": query, "parameters": {"max_new_tokens": 8}},
             generation=True),
        Call("generate_stream", "POST", "/generate",
             {"inputs": query, "parameters": {"max_new_tokens": 8}, "stream": True}, generation=True),
        Call("models", "GET", "/v1/models", generation=True),
        Call("chat", "POST", "/v1/chat/completions", chat, generation=True),
        Call("rag_extractive", "POST", "/rag", {"query": query, "route": "extractive"}, generation=True),
        Call("rag_generate", "POST", "/rag", {"query": query, "top_k": 2, "max_new_tokens": 8}, generation=True),
        Call("bad_json", "POST", "/embed", content=b'{"inputs": ', expect=bad),
        Call("bad_empty_query", "POST", "/search", {"query": ""}, expect=bad),
        Call("bad_max_new_tokens", "POST", "/generate", {"inputs": query, "parameters": {"max_new_tokens": 0}},
             expect=bad, generation=True),
        # 401; or 429 once the server throttles this address's failed authentications
        Call("bad_no_key", "POST", "/embed", {"inputs": query}, expect=frozenset({401, 429}), auth=False),
        Call("bad_route", "GET", "/nowhere", expect=frozenset({404})),
    ]
    return [call for call in calls if (anonymous or call.auth) and (generation or not call.generation)]


class RssSampler:
    """A thread sampling a process's RSS every ``interval_s``: ``(seconds since start, bytes)`` pairs."""

    def __init__(self, pid: int, interval_s: float = 0.5) -> None:
        self.process = psutil.Process(pid)
        self.interval_s = interval_s
        self.samples: list[tuple[float, int]] = []
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> int:
        rss = int(self.process.memory_info().rss)
        self.samples.append((time.monotonic() - self.started, rss))
        return rss

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.sample()
            except psutil.Error:  # the process ended
                return

    def __enter__(self) -> RssSampler:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *args: object) -> None:
        self._stop.set()
        self._thread.join()

    def high_water_mark(self) -> int | None:
        """The kernel's peak RSS of the process (``VmHWM`` in /proc/<pid>/status; Linux only), in bytes."""
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text(encoding="ascii")
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024  # kB
        return None

    def reset_high_water_mark(self) -> bool:
        """Restart ``VmHWM`` from the current RSS (writing 5 to /proc/<pid>/clear_refs); False where impossible."""
        try:
            Path(f"/proc/{self.process.pid}/clear_refs").write_text("5", encoding="ascii")
        except OSError:
            return False
        return True


def rss_slope_mib_per_min(samples: Sequence[tuple[float, int]], start_s: float = 0.0) -> float:
    """The least-squares slope of RSS over time, in MiB per minute, of the samples taken at or after ``start_s``.

    ``samples`` are ``(seconds, bytes)`` pairs. Returns NaN with fewer than two samples or no spread in time.
    """
    # BEGIN SOLUTION c08.8: keep t >= start; minutes and MiB; slope = cov(t, y) / var(t)
    points = [(t / 60.0, rss / MIB) for t, rss in samples if t >= start_s]
    if len(points) < 2 or min(t for t, _ in points) == max(t for t, _ in points):
        return float("nan")  # no spread in time: no slope
    mean_t = sum(t for t, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    return sum((t - mean_t) * (y - mean_y) for t, y in points) / spread
    # END SOLUTION


@dataclass
class SoakReport:
    seconds: float
    rounds: int
    requests: int
    rss_ready_mib: float
    startup_peak_mib: float  # VmHWM at ready: loading the models and building the indexes (0: unknown)
    rss_peak_mib: float
    rss_after_mib: float
    slope_mib_per_min: float
    samples: int = 0  # RSS samples taken from ready to after the load
    statuses: dict[str, Counter[int]] = field(default_factory=dict)  # call name -> status -> count
    unexpected: list[str] = field(default_factory=list)  # "name: status" of every wrong answer (first 50)
    latencies_ms: dict[str, list[float]] = field(default_factory=dict, repr=False)

    def row(self) -> dict[str, Any]:
        return {"minutes": round(self.seconds / 60, 2), "rounds": self.rounds, "requests": self.requests,
                "unexpected": len(self.unexpected), "rss_ready_mib": round(self.rss_ready_mib, 1),
                "startup_peak_mib": round(self.startup_peak_mib, 1),
                "rss_peak_mib": round(self.rss_peak_mib, 1), "rss_after_mib": round(self.rss_after_mib, 1),
                "slope_mib_per_min": round(self.slope_mib_per_min, 2), "samples": self.samples}

    def routes(self) -> list[dict[str, Any]]:
        """One row per call: its statuses and latency p50 / p99."""
        return [{"call": name, "statuses": dict(sorted(counts.items())),
                 "p50_ms": round(percentile(self.latencies_ms.get(name, []), 50), 1),
                 "p99_ms": round(percentile(self.latencies_ms.get(name, []), 99), 1)}
                for name, counts in self.statuses.items()]


async def _run_rounds(url: str, api_key: str, concurrency: int, seconds: float, max_rounds: int | None,
                      warmup_rounds: int, report: SoakReport, anonymous: bool, generation: bool,
                      pause_s: float) -> None:
    check_loopback(url)
    headers = {"Authorization": f"Bearer {api_key}"}
    model = ""
    if generation:
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120.0) as probe:
            model = (await probe.get("/v1/models")).json()["data"][0]["id"]
    counter = iter(range(10**9))

    async def play(http: httpx.AsyncClient, keyless: httpx.AsyncClient, number: int) -> None:
        for call in round_of_calls(number, model, anonymous, generation):
            client = http if call.auth else keyless
            started = time.perf_counter()
            try:
                response = await client.request(call.method, call.path, json=call.json, content=call.content,
                                                headers=None if call.content is None else
                                                {"content-type": "application/json"})
                status = response.status_code
            except httpx.HTTPError as err:
                status = 0
                if len(report.unexpected) < 50:
                    report.unexpected.append(f"{call.name}: {type(err).__name__}")
            report.latencies_ms.setdefault(call.name, []).append((time.perf_counter() - started) * 1000)
            report.statuses.setdefault(call.name, Counter())[status] += 1
            report.requests += 1
            if status and status not in call.expect and len(report.unexpected) < 50:
                report.unexpected.append(f"{call.name}: {status}")

    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120.0) as http, \
            httpx.AsyncClient(base_url=url, timeout=120.0) as keyless:
        for _ in range(warmup_rounds):  # every route touched once before the clock starts
            await play(http, keyless, next(counter))
        deadline = time.monotonic() + seconds

        async def worker() -> None:
            while time.monotonic() < deadline and (max_rounds is None or report.rounds < max_rounds):
                report.rounds += 1
                await play(http, keyless, next(counter))
                if pause_s:
                    await asyncio.sleep(min(pause_s, max(0.0, deadline - time.monotonic())))

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        report.seconds = time.monotonic() - started


def run_soak(url: str, pid: int, *, api_key: str = SOAK_KEY, seconds: float = 150.0, concurrency: int = 2,
             max_rounds: int | None = None, warmup_rounds: int = 1, interval_s: float = 0.5,
             settle_s: float = 3.0, anonymous: bool = True, generation: bool = True,
             pause_s: float = 0.0) -> SoakReport:
    """Soak the server at ``url`` (process ``pid``) and measure its memory (see the module docstring).

    ``generation``: soak the generation service's routes too (False for a server started without them).
    ``pause_s``: each client waits this long between its rounds: a paced soak spreads a few rounds over
    enough time for the memory's slope to mean something, and stays under a per-key quota.
    """
    if seconds <= 0 or concurrency < 1 or interval_s <= 0 or pause_s < 0:
        raise ValueError("seconds and interval_s must be positive, concurrency >= 1, pause_s >= 0")
    report = SoakReport(0.0, 0, 0, 0.0, 0.0, 0.0, 0.0, float("nan"))
    with RssSampler(pid, interval_s) as sampler:
        report.rss_ready_mib = sampler.samples[0][1] / MIB
        report.startup_peak_mib = (sampler.high_water_mark() or 0) / MIB
        fresh_mark = sampler.reset_high_water_mark()  # from here on VmHWM is the peak under load
        asyncio.run(_run_rounds(url, api_key, concurrency, seconds, max_rounds, warmup_rounds, report,
                                 anonymous, generation, pause_s))
        load_end = time.monotonic() - sampler.started
        load_start = load_end - report.seconds
        time.sleep(settle_s)  # let the last answers' buffers go before "after load"
        report.rss_after_mib = sampler.sample() / MIB
    report.samples = len(sampler.samples)
    high = (sampler.high_water_mark() or 0) if fresh_mark else 0
    report.rss_peak_mib = max(high, *(rss for _, rss in sampler.samples)) / MIB
    during = [(t, rss) for t, rss in sampler.samples if load_start <= t <= load_end]
    report.slope_mib_per_min = rss_slope_mib_per_min(during, load_start + WARMUP_FRACTION * report.seconds)
    return report


def markdown(rows: Sequence[dict[str, Any]]) -> str:
    if not rows:
        return ""
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    return "\n".join(lines + ["| " + " | ".join(str(row.get(c, "")) for c in columns) + " |" for row in rows])


def soak_make_serve(seconds: float, concurrency: int = 2, extra_args: Sequence[str] = (),
                    env: dict[str, str] | None = None, image_malloc: bool = True) -> SoakReport:
    """Start the server as ``make serve`` does (one API key, quotas lifted) and soak it.

    ``image_malloc``: glibc's allocator tuned as in the image (:data:`MALLOC_ENV`); False: glibc's defaults.
    """
    server_env = {**LIFTED, "C08_API_KEYS": json.dumps([SOAK_KEY]), **(MALLOC_ENV if image_malloc else {}),
                  **(env or {})}
    with ServerProcess([*MAKE_SERVE_ARGS, *extra_args], env=server_env) as server:
        return run_soak(server.url, server.pid, seconds=seconds, concurrency=concurrency)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m c08_serving_ops.tools.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=DEFAULT_MINUTES, help="load duration")
    parser.add_argument("--concurrency", type=int, default=2, help="clients, each playing whole rounds")
    parser.add_argument("--url", help="soak a running server instead (with --pid and --api-key)")
    parser.add_argument("--pid", type=int, help="the running server's process id (for its RSS)")
    parser.add_argument("--api-key", default=SOAK_KEY)
    parser.add_argument("--server-arg", action="append", default=[], help="an extra flag for serve.py (repeatable)")
    parser.add_argument("--glibc-malloc", dest="image_malloc", action="store_false",
                        help="start the server with glibc's default allocator settings, not the image's")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if args.url is not None:
        if args.pid is None:
            parser.error("--url needs --pid")
        report = run_soak(args.url, args.pid, api_key=args.api_key, seconds=args.minutes * 60,
                          concurrency=args.concurrency)
    else:
        report = soak_make_serve(args.minutes * 60, args.concurrency, args.server_arg,
                                 image_malloc=args.image_malloc)
    print("## Soak (every route, authenticated)\n\n" + markdown([report.row()]) + "\n\n" + markdown(report.routes())
          + "\n", flush=True)
    if report.unexpected:
        print("unexpected answers: " + ", ".join(report.unexpected[:20]), file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps({**report.row(), "routes": report.routes(),
                                         "unexpected_answers": report.unexpected}, indent=2), encoding="utf-8")
    return 0 if not report.unexpected else 1


if __name__ == "__main__":
    sys.exit(main())
