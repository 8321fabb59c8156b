"""c08.3 (hidden): limiter edge cases: fractional rates, many threads, costs."""

from __future__ import annotations

import threading

import pytest

from c08_serving_ops.core.limiter import OverloadGuard, RateLimiter, TokenBucket

pytestmark = pytest.mark.task("c08.3")


def test_fractional_rate_and_cost() -> None:
    now = [0.0]
    bucket = TokenBucket(rate=0.25, capacity=2, clock=lambda: now[0])
    assert bucket.try_acquire(2) == 0.0
    assert bucket.try_acquire(0.5) == pytest.approx(2.0)  # 0.5 token at 0.25/s
    now[0] = 2.0
    assert bucket.try_acquire(0.5) == 0.0
    with pytest.raises(ValueError):
        bucket.try_acquire(0)


def test_limiter_and_guard_are_thread_safe() -> None:
    limiter = RateLimiter(rate=1e-6, burst=500, clock=lambda: 0.0)
    guard = OverloadGuard(1000)
    allowed: list[bool] = []
    lock = threading.Lock()

    def hammer() -> None:
        for _ in range(100):
            decision = limiter.check("shared")
            entered = guard.try_enter()
            with lock:
                allowed.append(decision.allowed)
            if entered:
                guard.leave()

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(allowed) == 500 and limiter.rejected == 300 and guard.in_flight == 0
