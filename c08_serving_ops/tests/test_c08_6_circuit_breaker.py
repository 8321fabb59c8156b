"""c08.6: the circuit breaker (closed / open / half-open per host) with the retry policy, against a failing server.

The server is a real HTTP server on 127.0.0.1 (``http.server`` on a thread) whose behaviour the test
switches: answer 200, answer 503, close the connection without answering, or hold a request until
released. It counts what reaches it, so "not sent" is checked where it matters: on the server.
The breaker's clock is injected: the cool-downs pass by advancing it, nothing sleeps.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from c08_serving_ops.core.breaker import BreakerPolicy, BreakerRegistry, CircuitBreaker, CircuitOpenError, CircuitState
from c08_serving_ops.tools.client import ResilientClient, RetryPolicy

pytestmark = pytest.mark.task("c08.6")

COOL_DOWN_S = 30.0


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FailingServer:
    """An HTTP server on a loopback port; ``mode`` is "ok", "503", "close", "429" or "hold"."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.received = 0
        self.arrived = threading.Event()  # a request reached the server (for "hold")
        self.release = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # keep the test output quiet
                pass

            def answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                self.rfile.read(length)
                owner.received += 1
                mode = owner.mode
                if mode == "hold":
                    owner.arrived.set()
                    owner.release.wait(30)
                    mode = "ok"
                if mode == "close":  # no status line at all: the client sees the connection end
                    self.close_connection = True
                    return
                status = {"ok": 200, "503": 503, "429": 429}[mode]
                body = b'{"ok": true}' if status == 200 else b'{"error": "down", "error_type": "x"}'
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                if status == 429:
                    self.send_header("retry-after", "1")
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self.answer()

            def do_POST(self) -> None:
                self.answer()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[FailingServer]:
    running = FailingServer()
    yield running
    running.stop()


def client_for(url: str, clock: Clock, *, retries: int = 0, threshold: int = 3,
               sleeps: list[float] | None = None, **kwargs: object) -> ResilientClient:
    policy = RetryPolicy(max_retries=retries, base_delay_s=0.01, max_delay_s=0.05)
    return ResilientClient(url, policy=policy, breaker=BreakerPolicy(failure_threshold=threshold,
                                                                     reset_timeout_s=COOL_DOWN_S),
                           clock=clock, sleep=(sleeps if sleeps is not None else []).append, **kwargs)  # type: ignore[arg-type]


def state(client: ResilientClient) -> CircuitState:
    assert client.breakers is not None
    (only,) = client.breakers.states().values()
    return only


def now(breaker: CircuitBreaker) -> CircuitState:
    return breaker.state  # read through a call: each assertion sees the state as it is now


def test_the_state_machine_with_a_fake_clock() -> None:
    clock = Clock()
    breaker = CircuitBreaker("http://h:1", BreakerPolicy(failure_threshold=2, reset_timeout_s=10.0), clock)
    assert breaker.acquire() is False and now(breaker) is CircuitState.CLOSED
    breaker.record(False)
    breaker.record(True)  # a success resets the run of failures
    breaker.record(False)
    assert now(breaker) is CircuitState.CLOSED
    breaker.record(False)
    assert now(breaker) is CircuitState.OPEN
    with pytest.raises(CircuitOpenError, match=r"circuit open for http://h:1 after 2 failures") as refused:
        breaker.acquire()
    assert refused.value.retry_in_s == pytest.approx(10.0) and refused.value.host == "http://h:1"
    clock.now += 9.5
    with pytest.raises(CircuitOpenError) as refused:
        breaker.acquire()
    assert refused.value.retry_in_s == pytest.approx(0.5)
    clock.now += 0.5
    assert breaker.acquire() is True and now(breaker) is CircuitState.HALF_OPEN  # the probe
    with pytest.raises(CircuitOpenError):
        breaker.acquire()  # only one probe at a time
    breaker.record(True)  # a late answer from before the trip: not the probe, ignored
    assert now(breaker) is CircuitState.HALF_OPEN
    breaker.record(False, probe=True)  # the probe failed: open again, a whole new cool-down
    assert now(breaker) is CircuitState.OPEN and breaker.opened_at == clock.now
    clock.now += 9.9
    with pytest.raises(CircuitOpenError):
        breaker.acquire()
    clock.now += 0.1
    assert breaker.acquire() is True
    breaker.record(True, probe=True)
    assert now(breaker) is CircuitState.CLOSED and breaker.failures == 0
    assert breaker.acquire() is False
    for bad in ({"failure_threshold": 0}, {"reset_timeout_s": -1.0}):
        with pytest.raises(ValueError):
            BreakerPolicy(**bad)
    assert BreakerPolicy().failure_threshold == 5 and BreakerPolicy().reset_timeout_s == 30.0


def test_open_fails_fast_without_sending_then_a_probe_closes_it(server: FailingServer) -> None:
    clock = Clock()
    with client_for(server.url, clock) as client:
        server.mode = "503"
        assert [client.health().status_code for _ in range(3)] == [503, 503, 503]
        assert state(client) is CircuitState.OPEN and server.received == 3
        for _ in range(5):
            with pytest.raises(CircuitOpenError, match=f"circuit open for {server.url}"):
                client.health()
        assert server.received == 3 and client.attempts == 3  # nothing was sent
        server.mode = "ok"  # the server has recovered, but the cool-down has not passed
        clock.now += COOL_DOWN_S - 1
        with pytest.raises(CircuitOpenError):
            client.search("q")
        assert server.received == 3
        clock.now += 1
        answer = client.health()  # the probe
        assert answer.status_code == 200 and server.received == 4 and state(client) is CircuitState.CLOSED
        assert [client.health().status_code for _ in range(3)] == [200] * 3


def test_a_failed_probe_opens_it_again(server: FailingServer) -> None:
    clock = Clock()
    with client_for(server.url, clock) as client:
        server.mode = "close"  # the connection ends with no answer: a transport error, not retried
        for _ in range(3):
            with pytest.raises(httpx.RemoteProtocolError):
                client.health()
        assert state(client) is CircuitState.OPEN and server.received == 3
        clock.now += COOL_DOWN_S
        server.mode = "503"
        assert client.health().status_code == 503  # the probe got through and failed
        assert state(client) is CircuitState.OPEN and server.received == 4
        clock.now += COOL_DOWN_S - 0.1  # the cool-down starts again from the failed probe
        with pytest.raises(CircuitOpenError):
            client.health()
        clock.now += 0.1
        server.mode = "ok"
        assert client.health().status_code == 200 and state(client) is CircuitState.CLOSED


def test_the_breaker_stops_the_retry_loop(server: FailingServer) -> None:
    clock = Clock()
    sleeps: list[float] = []
    with client_for(server.url, clock, retries=6, threshold=3, sleeps=sleeps) as client:
        server.mode = "503"
        with pytest.raises(CircuitOpenError):
            client.health()  # 3 attempts open the circuit: the other 4 retries are never sent
        assert server.received == 3 and client.attempts == 3 and len(sleeps) == 2  # no wait after the trip
        with pytest.raises(CircuitOpenError):
            client.health()
        assert server.received == 3
    sleeps.clear()
    with client_for(server.url, clock, retries=1, threshold=3, sleeps=sleeps) as client:
        assert client.health().status_code == 503  # out of retries before the threshold: the last answer
        assert state(client) is CircuitState.CLOSED and len(sleeps) == 1


def test_4xx_and_429_are_answers_not_failures(server: FailingServer) -> None:
    clock = Clock()
    with client_for(server.url, clock, threshold=2) as client:
        server.mode = "429"
        assert [client.health().status_code for _ in range(4)] == [429] * 4
        assert state(client) is CircuitState.CLOSED and server.received == 4
        server.mode = "503"
        client.health()
        server.mode = "429"
        client.health()  # resets the run: 503, 429, 503 never reaches two in a row
        server.mode = "503"
        client.health()
        assert state(client) is CircuitState.CLOSED


def test_each_host_has_its_own_circuit(server: FailingServer) -> None:
    healthy = FailingServer()
    clock = Clock()
    shared = BreakerRegistry(BreakerPolicy(failure_threshold=2, reset_timeout_s=COOL_DOWN_S), clock)
    sick_host, healthy_host = (BreakerRegistry.host_of(httpx.URL(s.url)) for s in (server, healthy))
    server.mode = "503"
    try:
        with ResilientClient(server.url, breakers=shared, policy=RetryPolicy(max_retries=0)) as sick, \
                ResilientClient(healthy.url, breakers=shared, policy=RetryPolicy(max_retries=0)) as well:
            assert [sick.health().status_code for _ in range(2)] == [503, 503]
            with pytest.raises(CircuitOpenError):
                sick.health()
            assert well.health().status_code == 200
            with pytest.raises(CircuitOpenError) as refused:  # a full URL: the sick host's circuit, shared
                well.request("GET", f"{server.url}/health")
            assert refused.value.host == sick_host
        assert shared.states() == {sick_host: CircuitState.OPEN, healthy_host: CircuitState.CLOSED}
        assert server.received == 2 and healthy.received == 1
    finally:
        healthy.stop()


def test_half_open_lets_exactly_one_probe_through_across_threads(server: FailingServer) -> None:
    clock = Clock()
    with client_for(server.url, clock, threshold=1) as client:
        server.mode = "503"
        client.health()
        assert state(client) is CircuitState.OPEN
        clock.now += COOL_DOWN_S
        server.mode = "hold"
        outcome: list[int] = []
        probe = threading.Thread(target=lambda: outcome.append(client.health().status_code))
        probe.start()
        assert server.arrived.wait(30)  # the probe is inside the server now
        refused = 0
        errors: list[BaseException] = []

        def try_once() -> None:
            nonlocal refused
            try:
                client.health()
            except CircuitOpenError:
                refused += 1
            except BaseException as err:  # reported below
                errors.append(err)

        others = [threading.Thread(target=try_once) for _ in range(8)]
        for thread in others:
            thread.start()
        for thread in others:
            thread.join(30)
        assert refused == 8 and not errors and server.received == 2  # the first failure and the probe
        server.release.set()
        probe.join(30)
        assert outcome == [200] and state(client) is CircuitState.CLOSED


def test_no_breaker_when_asked(server: FailingServer) -> None:
    server.mode = "503"
    with ResilientClient(server.url, breaker=None, policy=RetryPolicy(max_retries=0)) as client:
        assert [client.health().status_code for _ in range(8)] == [503] * 8
    assert server.received == 8
