"""c08.3: token buckets (injected clock), per-client quotas, the overload guard, payload limit, bearer keys."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import pytest
from conftest import GUARDED, AppServer
from hypothesis import given, settings
from hypothesis import strategies as st

from c08_serving_ops.core.limiter import OverloadGuard, RateLimiter, TokenBucket, retry_after_header

pytestmark = pytest.mark.task("c08.3")


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_bursts_then_refills_at_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=2.0, capacity=3, clock=clock)
    assert [bucket.try_acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.try_acquire() == pytest.approx(0.5)  # one token at 2/s
    clock.now += 0.25
    assert bucket.try_acquire() == pytest.approx(0.25)
    clock.now += 0.25
    assert bucket.try_acquire() == 0.0
    clock.now += 1000  # refill is capped at the capacity
    assert [bucket.try_acquire() for _ in range(4)][-1] == pytest.approx(0.5)
    clock.now -= 5  # a clock that steps back adds nothing
    assert bucket.try_acquire() > 0


@pytest.mark.parametrize("rate, capacity", [(0, 1), (-1, 1), (math.inf, 1), (1, 0.5), (1, math.nan)])
def test_token_bucket_rejects_bad_arguments(rate: float, capacity: float) -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate, capacity)
    with pytest.raises(ValueError, match="cost"):
        TokenBucket(1, 2).try_acquire(3)


@settings(deadline=None, max_examples=60)
@given(rate=st.floats(0.1, 50), capacity=st.integers(1, 20),
       steps=st.lists(st.floats(0, 2), min_size=1, max_size=80))
def test_admitted_never_exceeds_burst_plus_rate_times_time(rate: float, capacity: int, steps: list[float]) -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate, capacity, clock)
    admitted = 0
    for step in steps:
        clock.now += step
        admitted += bucket.try_acquire() == 0.0
    assert admitted <= capacity + rate * sum(steps) + 1e-9


def test_rate_limiter_keeps_one_bucket_per_client_and_evicts_only_full_ones() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=1.0, burst=2, max_clients=2, clock=clock)
    assert [limiter.check("a").allowed for _ in range(3)] == [True, True, False]
    refused = limiter.check("a")
    assert not refused.allowed and refused.retry_after_s == pytest.approx(1.0) and refused.remaining == 0
    assert limiter.check("b").allowed  # another client has its own bucket
    assert not limiter.check("c").allowed  # the table is full of active clients: the newcomer waits
    assert len(limiter) == 2 and not limiter.check("a").allowed  # "a" was not evicted into a fresh quota
    clock.now += 2.0  # "a" and "b" refill: a full bucket is as good as a new one, so it may go
    assert limiter.check("c").allowed and len(limiter) == 2
    assert limiter.rejected == 4
    with pytest.raises(ValueError):
        RateLimiter(1.0, 1, max_clients=0)


def test_overload_guard_refuses_at_once_past_its_limit() -> None:
    guard = OverloadGuard(2)
    assert guard.try_enter() and guard.try_enter() and not guard.try_enter()
    assert guard.in_flight == 2 and guard.rejected == 1
    guard.leave()
    assert guard.try_enter()
    guard.leave()
    guard.leave()
    with pytest.raises(RuntimeError, match="without a matching"):
        guard.leave()
    with pytest.raises(ValueError):
        OverloadGuard(0)
    assert [retry_after_header(s) for s in (0.0, 0.2, 1.0, 1.01)] == ["1", "1", "1", "2"]


def test_a_flood_beyond_the_quota_gets_429_with_retry_after(app_server: Callable[..., AppServer]) -> None:
    server = app_server(guard=True, rate_per_s=0.5, burst=3)
    with server.client() as client:
        answers = [client.get(GUARDED) for _ in range(5)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
        assert answers[3].json() == {"error": "request quota exceeded; retry after the Retry-After seconds",
                                     "error_type": "rate_limited"}
        assert int(answers[3].headers["retry-after"]) in (1, 2)
        # without configured keys the quota is the address: a made-up bearer token buys no fresh quota
        assert client.get(GUARDED, headers={"Authorization": "Bearer other"}).status_code == 429
        assert all(client.get("/health").status_code == 200 for _ in range(5))  # probes are never limited


@pytest.fixture
def full_guard(app_server: Callable[..., AppServer]) -> Iterator[AppServer]:
    server = app_server(guard=True, max_in_flight=1)
    guard = server.app.state.guard
    assert guard.try_enter()  # one request is "in flight": the next must be refused at once
    yield server
    guard.leave()


def test_overload_answers_429_at_once(full_guard: AppServer) -> None:
    with full_guard.client() as client:
        busy = client.post("/search", json={"query": "flow"})
        assert busy.status_code == 429 and busy.headers["retry-after"] == "1"
        assert busy.json()["error_type"] == "overloaded"
        saturated = client.get("/ready")  # every slot taken: send traffic elsewhere
        assert saturated.status_code == 503 and saturated.json()["error"] == "saturated: 1 of 1 requests in flight"
        assert client.get("/health").status_code == 200  # alive all the same


def test_payload_limit_by_header_and_by_counting(app_server: Callable[..., AppServer]) -> None:
    server = app_server(guard=True, max_body_bytes=2048)
    with server.client() as client:
        big = client.post(GUARDED, json={"inputs": "word " * 1000})
        assert big.status_code == 413
        assert big.json() == {"error": "the body is over the limit of 2048 bytes", "error_type": "payload_too_large"}

        def chunks() -> Iterator[bytes]:  # no Content-Length: the server must count
            yield b'{"inputs": "'
            for _ in range(100):
                yield b"word " * 10
            yield b'"}'

        chunked = client.post(GUARDED, content=chunks(), headers={"content-type": "application/json"})
        assert chunked.status_code == 413 and chunked.json()["error_type"] == "payload_too_large"
        # a small body passes the guard: the schema route behind it answers (GET only, so 405)
        assert client.post(GUARDED, json={"inputs": "small"}).status_code == 405


def test_bearer_keys(app_server: Callable[..., AppServer]) -> None:
    server = app_server(guard=True, api_keys=["s3cret", "other"])
    with server.client() as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic s3cret"},
                        {"Authorization": "Bearer"}):
            denied = client.get(GUARDED, headers=headers)
            assert denied.status_code == 401 and denied.headers["www-authenticate"] == "Bearer"
            assert denied.json()["error_type"] == "unauthorized"
        assert client.get(GUARDED, headers={"Authorization": "Bearer s3cret"}).is_success
        assert client.get("/health").status_code == 200 and client.get("/metrics").status_code == 200


def test_ready_reports_a_saturated_guard_and_health_stays_alive(app_server: Callable[..., AppServer]) -> None:
    server = app_server(guard=True, max_in_flight=2)
    guard = server.app.state.guard
    with server.client() as client:
        assert client.get("/ready").status_code == 200
        assert guard.try_enter() and guard.try_enter()  # every slot taken
        try:
            ready = client.get("/ready")
            assert ready.status_code == 503 and ready.headers["retry-after"] == "1"
            assert ready.json() == {"error": "saturated: 2 of 2 requests in flight", "error_type": "not_ready"}
            assert client.head("/ready").status_code == 503 and client.head("/ready").content == b""
            assert client.get("/health").status_code == 200 and client.head("/health").status_code == 200
        finally:
            guard.leave()
            guard.leave()
        assert client.get("/ready").status_code == 200
