"""c08.6: the resilient client: back-off with seeded jitter, Retry-After, idempotency, the CLI."""

from __future__ import annotations

import email.utils
import json
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
import uvicorn
from conftest import AppServer
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from c08_serving_ops.server.serve import bind
from c08_serving_ops.tools import client as cli
from c08_serving_ops.tools.client import ResilientClient, RetryPolicy, parse_retry_after

pytestmark = pytest.mark.task("c08.6")


class Flaky:
    """A local server that answers 503 (Retry-After: 1) ``failures`` times per path, then 200."""

    def __init__(self, failures: int) -> None:
        self.failures, self.seen = failures, {}  # type: dict[str, int]

        async def endpoint(request: Request) -> JSONResponse:
            key = f"{request.method} {request.url.path}"
            self.seen[key] = self.seen.get(key, 0) + 1
            if self.seen[key] <= self.failures:
                return JSONResponse({"error": "warming up", "error_type": "not_ready"}, 503, {"Retry-After": "1"})
            return JSONResponse({"ok": True})

        app = Starlette(routes=[Route("/{path:path}", endpoint, methods=["GET", "POST", "DELETE"])])
        self.server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False))
        self.server.config.install_signal_handlers = False
        sock = bind("127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def flaky() -> Iterator[Flaky]:
    server = Flaky(failures=2)
    yield server
    server.stop()


def test_backoff_is_capped_exponential_with_seeded_jitter() -> None:
    policy = RetryPolicy(max_retries=6, base_delay_s=0.1, max_delay_s=1.0, jitter=0.5)
    one = ResilientClient("http://127.0.0.1:9", policy=policy, seed=7)
    two = ResilientClient("http://127.0.0.1:9", policy=policy, seed=7)
    delays = [one.backoff(n) for n in range(6)]
    assert delays == [two.backoff(n) for n in range(6)]  # seeded: reproducible
    for n, delay in enumerate(delays):
        ceiling = min(1.0, 0.1 * 2**n)
        assert ceiling * 0.5 <= delay <= ceiling
    assert ResilientClient("http://x", policy=RetryPolicy(jitter=0.0)).backoff(3) == pytest.approx(0.8)
    with pytest.raises(ValueError):
        RetryPolicy(jitter=2.0)
    one.close()
    two.close()


def test_parse_retry_after() -> None:
    assert parse_retry_after("3") == 3.0 and parse_retry_after(None) is None and parse_retry_after(" ") is None
    assert parse_retry_after("soon") is None
    date = email.utils.formatdate(1_000_010, usegmt=True)
    assert parse_retry_after(date, now=1_000_000) == pytest.approx(10.0)
    assert parse_retry_after(date, now=2_000_000) == 0.0


def test_retries_503_honouring_retry_after(flaky: Flaky) -> None:
    sleeps: list[float] = []
    with ResilientClient(flaky.url, sleep=sleeps.append) as client:
        answer = client.request("GET", "/thing")
    assert answer.status_code == 200 and sleeps == [1.0, 1.0] and flaky.seen["GET /thing"] == 3


def test_posts_are_not_retried_unless_asked(flaky: Flaky) -> None:
    sleeps: list[float] = []
    with ResilientClient(flaky.url, sleep=sleeps.append) as client:
        assert client.request("POST", "/write", json={}).status_code == 503
        assert flaky.seen["POST /write"] == 1 and sleeps == []
        assert client.request("POST", "/write", json={}, idempotent=True).status_code == 200
    with ResilientClient(flaky.url, sleep=sleeps.append, retry_non_idempotent=True) as client:
        assert client.request("POST", "/other", json={}).status_code == 200
    with ResilientClient(flaky.url, sleep=sleeps.append, policy=RetryPolicy(max_retries=1)) as client:
        assert client.request("DELETE", "/gone").status_code == 503  # out of retries: the last answer
        assert flaky.seen["DELETE /gone"] == 2


def test_connect_errors_are_retried_then_raised() -> None:
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    sleeps: list[float] = []
    policy = RetryPolicy(max_retries=3, base_delay_s=0.01, max_delay_s=0.05)
    with ResilientClient(f"http://127.0.0.1:{port}", policy=policy, sleep=sleeps.append, seed=1) as client:
        with pytest.raises(httpx.ConnectError):
            client.health()
        assert client.attempts == 4 and len(sleeps) == 3 and all(0.005 <= s <= 0.05 for s in sleeps)
        with pytest.raises(httpx.ConnectError):
            client.request("POST", "/embed", json={})
        assert client.attempts == 5  # a POST: one attempt only


def test_a_flood_on_the_real_server_is_absorbed_by_retries(app_server: Callable[..., AppServer]) -> None:
    server = app_server(guard=True, rate_per_s=4.0, burst=2)
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)

    with ResilientClient(server.url, sleep=sleep, policy=RetryPolicy(max_retries=4, max_delay_s=2.0)) as client:
        answers = [client.search("flutter", top_k=2, mode="bm25") for _ in range(4)]
        assert all(a.status_code == 200 for a in answers)
        assert client.attempts > 4 and slept and all(s == 1.0 for s in slept)  # Retry-After: 1
        embedded = client.embed(["a", "b"])
        assert embedded.status_code == 200 and len(embedded.json()) == 2


def test_cli(live: AppServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--url", live.url, "health"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "ok"
    assert cli.main(["--url", live.url, "embed", "one", "two"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 2
    assert cli.main(["--url", live.url, "search", "shock waves", "--mode", "bm25", "--top-k", "3"]) == 0
    assert len(json.loads(capsys.readouterr().out)["hits"]) == 3
    assert cli.main(["--url", live.url, "--api-key", "k", "ready"]) == 0
    capsys.readouterr()
    assert cli.main(["--url", live.url, "search", ""]) == 1  # 422: printed, exit 1
    assert json.loads(capsys.readouterr().out)["error_type"] == "validation_error"
    assert cli.main(["--url", "http://127.0.0.1:9", "--retries", "0", "health"]) == 1
    assert cli.main(["frobnicate"]) == 2
