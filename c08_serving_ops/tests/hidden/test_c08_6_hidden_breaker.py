"""c08.6 (hidden): the breaker's edge cases: a probe that times out, late answers, connect errors, no cool-down."""

from __future__ import annotations

import httpx
import pytest

from c08_serving_ops.core.breaker import BreakerPolicy, CircuitBreaker, CircuitOpenError, CircuitState
from c08_serving_ops.server.serve import bind
from c08_serving_ops.tools.client import ResilientClient, RetryPolicy

pytestmark = pytest.mark.task("c08.6")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def state_of(breaker: CircuitBreaker) -> CircuitState:
    return breaker.state


def test_a_probe_that_times_out_opens_the_circuit_again() -> None:
    clock = Clock()
    outcomes = iter(["503", "timeout", "200"])

    def handler(request: httpx.Request) -> httpx.Response:
        outcome = next(outcomes)
        if outcome == "timeout":
            raise httpx.ReadTimeout("slow", request=request)
        return httpx.Response(int(outcome), json={})

    with ResilientClient("http://svc:8000", policy=RetryPolicy(max_retries=0), clock=clock, sleep=lambda s: None,
                         breaker=BreakerPolicy(failure_threshold=1, reset_timeout_s=5.0),
                         transport=httpx.MockTransport(handler)) as client:
        assert client.health().status_code == 503
        clock.now += 5.0
        with pytest.raises(httpx.ReadTimeout):
            client.health()  # the probe: not retried (not a connect error), but a failure for the breaker
        with pytest.raises(CircuitOpenError):
            client.health()  # not stuck half-open with a probe that never came back: open, cooling down
        clock.now += 5.0
        assert client.health().status_code == 200


def test_late_answers_do_not_move_an_open_circuit() -> None:
    clock = Clock()
    breaker = CircuitBreaker("h", BreakerPolicy(failure_threshold=1, reset_timeout_s=10.0), clock)
    breaker.acquire()
    breaker.record(False)
    assert state_of(breaker) is CircuitState.OPEN and breaker.opened_at == 0.0
    clock.now = 9.0
    breaker.record(False)  # sent before the trip, failed late: the cool-down does not restart
    breaker.record(True)  # nor does a late success close it
    assert state_of(breaker) is CircuitState.OPEN and breaker.opened_at == 0.0
    clock.now = 10.0
    assert breaker.acquire() is True


def test_zero_cool_down_probes_at_once() -> None:
    breaker = CircuitBreaker("h", BreakerPolicy(failure_threshold=1, reset_timeout_s=0.0), Clock())
    breaker.record(False)
    assert state_of(breaker) is CircuitState.OPEN
    assert breaker.acquire() is True
    with pytest.raises(CircuitOpenError):
        breaker.acquire()


def test_connect_errors_count_and_stop_the_retries() -> None:
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    sleeps: list[float] = []
    with ResilientClient(f"http://127.0.0.1:{port}", policy=RetryPolicy(max_retries=5, base_delay_s=0.0),
                         breaker=BreakerPolicy(failure_threshold=2), sleep=sleeps.append, clock=Clock()) as client:
        with pytest.raises(CircuitOpenError):
            client.health()
        assert client.attempts == 2 and len(sleeps) == 1
