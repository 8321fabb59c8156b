"""A resilient HTTP client for the server, and its command line.

Networks and servers fail in ways that pass: a connection refused while a pod restarts,
a 503 while the model loads, a 429 when a quota is spent. A good client retries those,
and only those, in a way that does not make things worse:

* **timeouts** on every request (no call hangs forever);
* **exponential back-off with jitter**: attempt ``n`` waits ``min(max, base * 2**n)``
  scaled by a random factor in ``[1 - jitter, 1]``, so a crowd of clients that failed
  together does not retry together (the generator is seeded: tests know every delay);
* **Retry-After** from a 429 or 503 wins over the back-off (capped at ``max_delay_s``);
* **idempotency**: a POST may have been executed before the connection broke, so it is
  retried only when the caller says it is safe (``idempotent=True`` or
  ``retry_non_idempotent``). GET, HEAD, OPTIONS, PUT and DELETE are idempotent;
* a **circuit breaker per host** (:mod:`c08_serving_ops.core.breaker`): after a run of failures
  requests to that host fail at once with ``CircuitOpenError``, without being sent, until a
  cool-down has passed and a single probe has succeeded. Every attempt, retries included, asks
  the breaker first: once it opens, the retry loop stops instead of waiting to hit a dead host.

Command line: ``python -m c08_serving_ops.tools.client [--url URL] health | ready | embed TEXT... |
search QUERY [--mode M] [--top-k K]``: prints the JSON answer; exit 1 on an HTTP error, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import email.utils
import json
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from c08_serving_ops.core.breaker import BreakerPolicy, BreakerRegistry, CircuitOpenError

__all__ = ["BreakerPolicy", "BreakerRegistry", "CircuitOpenError", "ResilientClient", "RetryPolicy",
           "parse_retry_after"]

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRY_STATUSES = frozenset({429, 503})
DEFAULT_BREAKER = BreakerPolicy()  # 5 failures in a row open a host's circuit for 30 s


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 3
    base_delay_s: float = 0.1
    max_delay_s: float = 5.0
    jitter: float = 0.5  # the random share of each delay, in [0, 1]
    statuses: frozenset[int] = field(default=RETRY_STATUSES)

    def __post_init__(self) -> None:
        if self.max_retries < 0 or self.base_delay_s < 0 or self.max_delay_s < 0 or not 0 <= self.jitter <= 1:
            raise ValueError("max_retries, base_delay_s and max_delay_s must be >= 0, jitter in [0, 1]")


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date); None if absent or bad."""
    # BEGIN SOLUTION c08.6: a number of seconds, or a date (seconds from now, never negative)
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
    # END SOLUTION


class ResilientClient:
    """An ``httpx.Client`` with timeouts, the retry rules and the circuit breaker of the module docstring.

    ``breaker``: the thresholds of this client's own breakers (``None``: no breaker); ``breakers``: a
    registry shared with other clients instead (its policy wins). ``clock`` times the cool-downs.
    Safe to share between threads (httpx's client is; each breaker has a lock).
    """

    def __init__(self, base_url: str, *, api_key: str | None = None, timeout_s: float = 10.0,
                 policy: RetryPolicy | None = None, retry_non_idempotent: bool = False, seed: int = 0,
                 sleep: Callable[[float], None] = time.sleep, transport: httpx.BaseTransport | None = None,
                 breaker: BreakerPolicy | None = DEFAULT_BREAKER, breakers: BreakerRegistry | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.Client(base_url=base_url, timeout=timeout_s, headers=headers, transport=transport)
        self.policy = policy or RetryPolicy()
        if breakers is None and breaker is not None:
            breakers = BreakerRegistry(breaker, clock)
        self.breakers = breakers
        self.retry_non_idempotent = retry_non_idempotent
        self.random = random.Random(seed)
        self.sleep = sleep
        self.attempts = 0  # requests sent, retries included (for tests and logs)

    def backoff(self, attempt: int) -> float:
        """The delay before retry number ``attempt`` (0-based): capped exponential, jittered down."""
        # BEGIN SOLUTION c08.6: cap base * 2**attempt; scale by a seeded factor in [1 - jitter, 1]
        ceiling = min(self.policy.max_delay_s, self.policy.base_delay_s * 2.0 ** attempt)
        return ceiling * (1.0 - self.policy.jitter * self.random.random())
        # END SOLUTION

    def request(self, method: str, path: str, *, idempotent: bool | None = None, **kwargs: Any) -> httpx.Response:
        """Send, retrying connect errors, 429 and 503 when the request may be repeated.

        Returns the last response (maybe a 429 or 503 after the last retry).

        Raises:
            CircuitOpenError: the host's circuit is open (before the first attempt or between retries).
            httpx.ConnectError, httpx.TimeoutException: the last attempt failed to connect or timed out.
        """
        # BEGIN SOLUTION c08.6: may we retry? ask the breaker; send; record; retry connect errors, 429, 503
        method = method.upper()
        safe = idempotent if idempotent is not None else method in IDEMPOTENT
        retries = self.policy.max_retries if (safe or self.retry_non_idempotent) else 0
        breaker = None if self.breakers is None else self.breakers.for_url(self.http.base_url.join(path))
        probe = breaker.acquire() if breaker is not None else False  # open: CircuitOpenError, nothing sent
        attempt = 0
        while True:
            self.attempts += 1
            try:
                response = self.http.request(method, path, **kwargs)
            except Exception as err:  # a transport error, or anything else: the probe must not stay out
                if breaker is not None:
                    breaker.record(False, probe)
                if not isinstance(err, (httpx.ConnectError, httpx.ConnectTimeout)) or attempt >= retries:
                    raise
                delay = self.backoff(attempt)
            else:
                if breaker is not None:
                    breaker.record(not breaker.is_failure(response.status_code), probe)
                if response.status_code not in self.policy.statuses or attempt >= retries:
                    return response
                after = parse_retry_after(response.headers.get("retry-after"))
                delay = min(self.policy.max_delay_s, after) if after is not None else self.backoff(attempt)
            if breaker is not None:
                probe = breaker.acquire()  # opened by this run of failures: stop now, not after the wait
            self.sleep(delay)
            attempt += 1
        # END SOLUTION

    def health(self) -> httpx.Response:
        return self.request("GET", "/health")

    def ready(self) -> httpx.Response:
        return self.request("GET", "/ready")

    def embed(self, texts: str | Sequence[str], normalize: bool = True, truncate: bool = False) -> httpx.Response:
        """POST /embed: reading only, so safe to retry."""
        inputs = texts if isinstance(texts, str) else list(texts)
        return self.request("POST", "/embed", idempotent=True,
                            json={"inputs": inputs, "normalize": normalize, "truncate": truncate})

    def search(self, query: str, **options: Any) -> httpx.Response:
        """POST /search: reading only, so safe to retry."""
        return self.request("POST", "/search", idempotent=True, json={"query": query, **options})

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ResilientClient:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m c08_serving_ops.tools.client")
    parser.add_argument("--url", default="http://127.0.0.1:8008")
    parser.add_argument("--api-key")
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--retries", type=int, default=3)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("health")
    sub.add_parser("ready")
    embed = sub.add_parser("embed")
    embed.add_argument("texts", nargs="+")
    search = sub.add_parser("search")
    search.add_argument("query")
    search.add_argument("--mode", default="hybrid", choices=["bm25", "dense", "hybrid"])
    search.add_argument("--top-k", type=int, default=10)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    with ResilientClient(args.url, api_key=args.api_key, timeout_s=args.timeout,
                         policy=RetryPolicy(max_retries=args.retries)) as client:
        try:
            if args.command == "embed":
                response = client.embed(args.texts)
            elif args.command == "search":
                response = client.search(args.query, mode=args.mode, top_k=args.top_k)
            else:
                response = client.request("GET", f"/{args.command}")
        except httpx.HTTPError as err:
            print(f"error: {type(err).__name__}: {err}", file=sys.stderr)
            return 1
    print(json.dumps(response.json()))
    return 0 if response.is_success else 1


if __name__ == "__main__":
    sys.exit(main())
