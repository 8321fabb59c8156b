"""c08.3: slow clients cannot take the server down: header and body deadlines (408), a request counted in flight
only once its body is in, and a cap on each client's open connections (the same against the real server process,
with 64 or 256 held half-sent bodies, is c08.8's ``test_c08_8_slow_clients.py``).

The slow connections come from other loopback addresses (127.0.0.2 and up: Linux routes all of 127.0.0.0/8 to
the loopback interface), so the server's per-address limits tell them from the normal client at 127.0.0.1.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable

import pytest
from conftest import GUARDED, AppServer

from c08_serving_ops.server.connections import ConnectionTracker, raw_json_response
from c08_serving_ops.tools.slowloris import holding, open_held, status_of

pytestmark = pytest.mark.task("c08.3")

ANSWER_WAIT_S = 10.0  # the longest a test waits for the server to answer a held connection


def read_response(sock: socket.socket, wait_s: float = ANSWER_WAIT_S) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of the one response the server sends before it closes ``sock``."""
    sock.settimeout(wait_s)
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


def test_headers_must_arrive_within_the_deadline(app_server: Callable[..., AppServer]) -> None:
    server = app_server(guard=True, header_timeout_s=0.5)
    host, port = "127.0.0.1", int(server.url.rsplit(":", 1)[1])
    with socket.create_connection((host, port), timeout=ANSWER_WAIT_S) as slow:
        slow.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # never finishes its headers
        started = time.monotonic()
        status, headers, body = read_response(slow)
        assert status == 408 and headers["connection"] == "close" and time.monotonic() - started < ANSWER_WAIT_S
        assert json.loads(body) == {"error": "the request headers did not arrive within 0.5 s",
                                    "error_type": "request_timeout"}
    with socket.create_connection((host, port), timeout=ANSWER_WAIT_S) as keep_alive:
        keep_alive.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")  # a whole request is answered...
        assert keep_alive.recv(65536).startswith(b"HTTP/1.1 200 ")
        keep_alive.sendall(b"GET /hea")  # ... and the next one on the connection has the same deadline
        assert read_response(keep_alive)[0] == 408
    assert server.app.state.connections.timed_out == 2


def test_a_body_must_arrive_within_the_deadline(app_server: Callable[..., AppServer]) -> None:
    server = app_server(guard=True, body_timeout_s=0.5)
    with open_held(server.url, 1)[0] as slow:
        status, headers, body = read_response(slow)
    assert status == 408 and headers["connection"] == "close"
    assert json.loads(body) == {"error": "the request body did not arrive within 0.5 s",
                                "error_type": "request_timeout"}


def test_a_request_counts_in_flight_only_once_its_body_is_in(app_server: Callable[..., AppServer]) -> None:
    server = app_server(guard=True, max_in_flight=4, max_connections_per_client=1000)
    guard = server.app.state.guard
    with holding(server.url, 16) as held, server.client() as client:  # 4x the in-flight limit, all half-sent
        deadline = time.monotonic() + ANSWER_WAIT_S
        while server.app.state.connections.open_by_client["127.0.0.2"] < 16 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert guard.in_flight == 0  # reading a body holds no slot
        assert client.get(GUARDED).status_code == 200
        assert client.get("/ready").status_code == 200  # not saturated
        assert all(status_of(sock) is None for sock in held)  # the slow ones are still waiting, unanswered
    assert guard.rejected == 0


def test_each_client_has_a_connection_cap(app_server: Callable[..., AppServer]) -> None:
    server = app_server(guard=True, max_connections_per_client=3)
    tracker: ConnectionTracker = server.app.state.connections
    with holding(server.url, 5, source="127.0.0.3") as held, server.client() as client:
        answers = [status_of(sock, wait_s=2.0) for sock in held]
        assert sorted(answers, key=str) == [429, 429, None, None, None]  # two refused at once
        assert tracker.open_by_client["127.0.0.3"] == 3 and tracker.refused == 2
        assert client.get(GUARDED).status_code == 200
        kept = [sock for sock, answer in zip(held, answers, strict=True) if answer is None]
        kept[0].close()  # one closes: its slot is free again
        deadline = time.monotonic() + ANSWER_WAIT_S
        while tracker.open_by_client["127.0.0.3"] > 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        with open_held(server.url, 1, source="127.0.0.3")[0] as again:
            assert status_of(again, wait_s=0.5) is None  # admitted (its body is still coming)
    deadline = time.monotonic() + ANSWER_WAIT_S
    while tracker.open_by_client.get("127.0.0.3") and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "127.0.0.3" not in tracker.open_by_client  # a client with no connection left is forgotten


def test_a_trusted_proxy_is_exempt_from_the_connection_cap(app_server: Callable[..., AppServer]) -> None:
    server = app_server(guard=True, max_connections_per_client=1, trusted_proxies=["127.0.0.4/32"])
    with holding(server.url, 3, source="127.0.0.4") as held:
        assert [status_of(sock, wait_s=0.3) for sock in held] == [None, None, None]
    with pytest.raises(ValueError):
        ConnectionTracker(0)
    assert raw_json_response(429, "Too Many Requests", "rate_limited", "m").endswith(b'"rate_limited"}')
