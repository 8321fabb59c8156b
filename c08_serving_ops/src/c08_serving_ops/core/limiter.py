"""Per-client quotas (token buckets) and an overload guard (a non-blocking in-flight cap).

**Token bucket.** Each client owns a bucket of at most ``capacity`` tokens that refills at
``rate`` tokens per second; a request takes one. A full bucket allows a burst of
``capacity`` requests, and the long-run rate never exceeds ``rate``. When the bucket is
empty the answer is 429 with ``Retry-After``: the seconds until one token is back. The
clock is injected, so tests step time by hand instead of sleeping.

**Which client.** The API key when keys are configured (only a key that matched: an unknown
token is refused with 401 before any bucket exists), else the client's address; a token the
server never issued must not buy a fresh quota. Buckets live in a map capped at
``max_clients`` so a flood of addresses cannot grow memory without bound. Eviction must not
hand anyone a fresh quota either: only a bucket that has refilled to its capacity (so an
idle client, indistinguishable from a new one) is evicted, looking at the
``EVICTION_SCAN`` least recently seen; when none of them is full the table is full of
*active* clients and the newcomer is refused (429) until one of them is.

**Overload guard.** Quotas protect clients from each other; the guard protects the
server from everyone at once. It counts requests in flight and refuses (429 at once,
``Retry-After: 1``) past ``limit``, instead of queueing without bound and answering
everything late.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]
EVICTION_SCAN = 32  # least recently seen buckets examined for a full one when the table is full


class TokenBucket:
    """``capacity`` tokens, refilled continuously at ``rate`` per second (starts full)."""

    rate: float
    capacity: float
    tokens: float
    updated: float

    def __init__(self, rate: float, capacity: float, clock: Clock = time.monotonic) -> None:
        # BEGIN SOLUTION c08.3: validate; start full at the clock's now
        if not (math.isfinite(rate) and rate > 0):
            raise ValueError(f"rate must be a positive number of tokens per second, got {rate}")
        if not (math.isfinite(capacity) and capacity >= 1):
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.rate, self.capacity, self.clock = float(rate), float(capacity), clock
        self.tokens = self.capacity
        self.updated = clock()
        # END SOLUTION

    def try_acquire(self, cost: float = 1.0) -> float:
        """Take ``cost`` tokens and return 0.0, or take nothing and return the seconds until they exist."""
        # BEGIN SOLUTION c08.3: refill by the elapsed time (capped); take, or say how long to wait
        if cost <= 0 or cost > self.capacity:
            raise ValueError(f"cost must be in (0, {self.capacity}], got {cost}")
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + max(0.0, now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= cost:
            self.tokens -= cost
            return 0.0
        return (cost - self.tokens) / self.rate
        # END SOLUTION

    def level(self) -> float:
        """The tokens the bucket holds now (refill included), without taking any."""
        # BEGIN SOLUTION c08.3: the refill a try_acquire would add, capped; nothing changes
        return min(self.capacity, self.tokens + max(0.0, self.clock() - self.updated) * self.rate)
        # END SOLUTION


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_s: float  # 0 when allowed
    remaining: int  # whole tokens left after this request


class RateLimiter:
    """One :class:`TokenBucket` per client key, at most ``max_clients`` (see the module docstring). Thread-safe."""

    _buckets: OrderedDict[str, TokenBucket]
    rejected: int  # requests refused so far
    refused_new: int  # of which newcomers refused for want of room

    def __init__(self, rate: float, burst: int, max_clients: int = 10_000, clock: Clock = time.monotonic) -> None:
        # BEGIN SOLUTION c08.3: check the arguments (make one bucket); an LRU map and a lock
        TokenBucket(rate, burst, clock)
        if max_clients < 1:
            raise ValueError(f"max_clients must be >= 1, got {max_clients}")
        self.rate, self.burst, self.max_clients, self.clock = rate, burst, max_clients, clock
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()
        self._lock = threading.Lock()
        self.rejected = 0
        self.refused_new = 0  # newcomers refused because the table was full of active clients
        # END SOLUTION

    def check(self, key: str) -> Decision:
        """Take one token from ``key``'s bucket (made for a newcomer when there is room; else 429)."""
        # BEGIN SOLUTION c08.3: find the bucket, or make room (evict a full one, else refuse); take a token
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= self.max_clients and not self._evict_one_full():
                    self.rejected += 1
                    self.refused_new += 1
                    return Decision(False, self._seconds_until_room(), 0)
                bucket = self._buckets[key] = TokenBucket(self.rate, self.burst, self.clock)
            self._buckets.move_to_end(key)
            wait = bucket.try_acquire()
            if wait > 0:
                self.rejected += 1
            return Decision(wait == 0, wait, int(bucket.tokens))
        # END SOLUTION

    def _evict_one_full(self) -> bool:
        """Evict the least recently seen bucket that is full (among the EVICTION_SCAN oldest); False if none is."""
        # BEGIN SOLUTION c08.3: a full bucket equals a fresh one: evicting it takes nothing from its client
        for key, bucket in itertools.islice(self._buckets.items(), EVICTION_SCAN):
            if bucket.level() >= bucket.capacity:
                del self._buckets[key]
                return True
        return False
        # END SOLUTION

    def _seconds_until_room(self) -> float:
        oldest = next(iter(self._buckets.values()))
        return (oldest.capacity - oldest.level()) / oldest.rate

    def wait_s(self, key: str) -> float:
        """Seconds until ``key`` could take a token (0.0 now, or when it has no bucket); takes nothing."""
        # BEGIN SOLUTION c08.3: look, never create
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                return 0.0
            level = bucket.level()
            return 0.0 if level >= 1 else (1 - level) / bucket.rate
        # END SOLUTION

    def __len__(self) -> int:
        return len(self._buckets)


class OverloadGuard:
    """At most ``limit`` holders at once; :meth:`try_enter` never waits. Thread-safe."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit}")
        self.limit = limit
        self.in_flight = 0
        self.rejected = 0
        self._lock = threading.Lock()

    def try_enter(self) -> bool:
        """Take a slot and return True, or return False at once when all ``limit`` are taken."""
        # BEGIN SOLUTION c08.3: under the lock: refuse when full, else count one more
        with self._lock:
            if self.in_flight >= self.limit:
                self.rejected += 1
                return False
            self.in_flight += 1
            return True
        # END SOLUTION

    def leave(self) -> None:
        """Give a slot back (once per successful :meth:`try_enter`)."""
        # BEGIN SOLUTION c08.3: a leave without an enter is a bug: say so
        with self._lock:
            if self.in_flight == 0:
                raise RuntimeError("leave() without a matching try_enter()")
            self.in_flight -= 1
        # END SOLUTION


def retry_after_header(seconds: float) -> str:
    """``Retry-After`` is whole seconds: round up, and never 0 for a refusal."""
    return str(max(1, math.ceil(seconds)))
