"""A load generator: asyncio + httpx, bounded in requests and in time, loopback only.

``run_load`` keeps ``concurrency`` requests in flight (closed loop: each worker sends its
next request when the last one is answered) until ``max_requests`` are sent or
``max_seconds`` have passed, whichever comes first, and reports throughput (QPS) and the
latency percentiles p50, p95, p99 of the answered requests. ``run_rate`` sends at a fixed
rate instead (open loop, for a soak): a slow server then shows as growing latency, not
as a politely slower client.

Only loopback addresses are accepted: a load test must never hit someone else's server.
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

BodyFn = Callable[[int], dict[str, Any] | None]  # request number -> JSON body (None: a GET)


def check_loopback(url: str) -> None:
    """Raise ValueError unless ``url``'s host is a loopback address (or ``localhost``)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"load is only sent to loopback addresses, not {host!r}")


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation between order statistics (numpy's default)."""
    # BEGIN SOLUTION c08.8: sort; position q/100 * (n-1); interpolate between the two neighbours
    if not values:
        return math.nan
    if not 0 <= q <= 100:
        raise ValueError(f"q must be in [0, 100], got {q}")
    ordered = sorted(values)
    position = q / 100 * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
    # END SOLUTION


@dataclass
class LoadResult:
    endpoint: str
    concurrency: int
    requests: int
    errors: int  # transport errors and 5xx answers
    seconds: float
    latencies_ms: list[float] = field(repr=False)
    statuses: Counter[int] = field(default_factory=Counter)

    @property
    def qps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def p(self, q: float) -> float:
        return percentile(self.latencies_ms, q)

    def row(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "concurrency": self.concurrency, "requests": self.requests,
                "errors": self.errors, "qps": round(self.qps, 1), "p50_ms": round(self.p(50), 2),
                "p95_ms": round(self.p(95), 2), "p99_ms": round(self.p(99), 2),
                "statuses": dict(sorted(self.statuses.items()))}


async def _send(client: httpx.AsyncClient, path: str, body: dict[str, Any] | None, result: LoadResult) -> None:
    started = time.perf_counter()
    try:
        response = await (client.get(path) if body is None else client.post(path, json=body))
    except httpx.HTTPError:
        result.errors += 1
        result.statuses[0] += 1
        return
    result.latencies_ms.append((time.perf_counter() - started) * 1000)
    result.statuses[response.status_code] += 1
    if response.status_code >= 500:
        result.errors += 1


async def run_load(base_url: str, path: str, body: BodyFn, *, concurrency: int, max_requests: int,
                   max_seconds: float, headers: dict[str, str] | None = None, timeout_s: float = 30.0) -> LoadResult:
    """Closed-loop load at ``concurrency`` (see the module docstring)."""
    # BEGIN SOLUTION c08.8: check the target; workers share a counter; stop at either bound
    check_loopback(base_url)
    if concurrency < 1 or max_requests < 1 or max_seconds <= 0:
        raise ValueError("concurrency and max_requests must be >= 1, max_seconds > 0")
    result = LoadResult(path, concurrency, 0, 0, 0.0, [])
    started = time.perf_counter()
    deadline = started + max_seconds

    async def worker() -> None:  # one client (one connection) per worker: httpx's shared pool slows down at 32
        async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=timeout_s) as client:
            while result.requests < max_requests and time.perf_counter() < deadline:
                number = result.requests
                result.requests += 1
                await _send(client, path, body(number), result)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.seconds = time.perf_counter() - started
    return result
    # END SOLUTION


async def run_rate(base_url: str, path: str, body: BodyFn, *, rate_per_s: float, seconds: float,
                   headers: dict[str, str] | None = None, timeout_s: float = 30.0,
                   on_tick: Callable[[float], None] | None = None) -> LoadResult:
    """Open-loop load: a request every ``1 / rate_per_s`` s for ``seconds``; ``on_tick(elapsed)`` each second."""
    check_loopback(base_url)
    if rate_per_s <= 0 or seconds <= 0:
        raise ValueError("rate_per_s and seconds must be positive")
    result = LoadResult(path, 0, 0, 0, 0.0, [])
    pending: set[asyncio.Task[None]] = set()
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=timeout_s) as client:
        started = time.perf_counter()
        next_tick = 1.0
        total = int(rate_per_s * seconds)
        for number in range(total):
            wait = started + number / rate_per_s - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            elapsed = time.perf_counter() - started
            if on_tick is not None and elapsed >= next_tick:
                on_tick(elapsed)
                next_tick += 1.0
            result.requests += 1
            task = asyncio.ensure_future(_send(client, path, body(number), result))
            pending.add(task)
            task.add_done_callback(pending.discard)
        if pending:
            await asyncio.gather(*pending)
        result.seconds = time.perf_counter() - started
    return result
