"""Slow clients against a running server: hold connections with half-sent bodies, then measure a normal client.

``python -m c08_serving_ops.tools.slowloris`` starts the real server (``--in-memory``; or talks to
``--url``), opens N raw TCP connections from one loopback address (``127.0.0.2``) that each send
a request's headers and 5 bytes of a declared 100-byte body and then say nothing, and, while they
are held, measures what a normal client at ``127.0.0.1`` gets: the status of a ``/search`` and
the latency of ``/health`` (p50/p99 of sequential requests). It also counts how the held
connections ended: refused at once (429: the per-client connection cap or the quota), closed by
the body deadline (408), or still open when the measurement ended.

The attacker uses another loopback address so that the per-client limits of the server (by
address) are what separates it from the normal client, as they would separate two hosts. Linux
routes all of ``127.0.0.0/8`` to the loopback interface; elsewhere pass ``--source 127.0.0.1``.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from c08_serving_ops.tools.loadgen import check_loopback, percentile

HALF_BODY = b'{"inp'  # 5 of the 100 bytes the headers announce
DECLARED_BYTES = 100


def half_sent_request(path: str = "/embed", host: str = "127.0.0.1") -> bytes:
    """Headers announcing a 100-byte JSON body, and its first 5 bytes."""
    return (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {DECLARED_BYTES}\r\n\r\n").encode() + HALF_BODY


def open_held(url: str, count: int, source: str = "127.0.0.2", payload: bytes | None = None) -> list[socket.socket]:
    """``count`` connections from ``source`` that each sent ``payload`` (default: a half-sent /embed) and wait."""
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    payload = half_sent_request(host=parts.hostname) if payload is None else payload
    held = []
    for _ in range(count):
        sock = socket.create_connection((parts.hostname, parts.port), timeout=10, source_address=(source, 0))
        sock.sendall(payload)
        held.append(sock)
    return held


def status_of(sock: socket.socket, wait_s: float = 0.0) -> int | None:
    """The status the server answered on ``sock`` (None: nothing yet); 0 when it closed without an answer."""
    sock.settimeout(wait_s if wait_s > 0 else 0.001)
    try:
        data = sock.recv(4096)
    except (TimeoutError, BlockingIOError):
        return None
    except OSError:
        return 0
    if not data.startswith(b"HTTP/1.1 "):
        return 0
    return int(data[9:12])


@contextlib.contextmanager
def holding(url: str, count: int, source: str = "127.0.0.2") -> Iterator[list[socket.socket]]:
    held = open_held(url, count, source)
    try:
        yield held
    finally:
        for sock in held:
            sock.close()


@dataclass
class HeldReport:
    connections: int
    search_status: int
    health_ms: list[float] = field(default_factory=list)
    held_ended: Counter[int | None] = field(default_factory=Counter)  # status the held connections got (None: open)

    def row(self) -> dict[str, Any]:
        return {"held": self.connections, "search_status": self.search_status,
                "health_p50_ms": round(percentile(self.health_ms, 50), 2),
                "health_p99_ms": round(percentile(self.health_ms, 99), 2),
                "health_max_ms": round(max(self.health_ms), 2),
                "held_refused_429": self.held_ended[429], "held_timed_out_408": self.held_ended[408],
                "held_still_open": self.held_ended[None]}


def measure(url: str, connections: int, health_requests: int = 100, source: str = "127.0.0.2",
            headers: dict[str, str] | None = None) -> HeldReport:
    """Hold ``connections`` half-sent bodies from ``source``; meanwhile a /search and ``health_requests`` /health."""
    check_loopback(url)
    with holding(url, connections, source) as held, httpx.Client(base_url=url, timeout=30.0,
                                                                  headers=headers or {}) as client:
        search = client.post("/search", json={"query": "heat transfer in hypersonic flow", "mode": "hybrid",
                                              "top_k": 3})
        report = HeldReport(connections, search.status_code)
        for _ in range(health_requests):
            started = time.perf_counter()
            client.get("/health").raise_for_status()
            report.health_ms.append((time.perf_counter() - started) * 1000)
        report.held_ended = Counter(status_of(sock) for sock in held)
    return report


def markdown(rows: Sequence[dict[str, Any]]) -> str:
    if not rows:
        return ""
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(str(r[k]) for k in keys) + " |" for r in rows]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m c08_serving_ops.tools.slowloris",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running server (default: start one, --in-memory)")
    parser.add_argument("--connections", default="64,256", help="held connections per run, comma-separated")
    parser.add_argument("--health-requests", type=int, default=200)
    parser.add_argument("--source", default="127.0.0.2", help="the address the held connections come from")
    parser.add_argument("--env", action="append", default=[], metavar="C08_NAME=VALUE",
                        help="settings of the started server (repeatable), e.g. C08_MAX_CONNECTIONS_PER_CLIENT=1000")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    from c08_serving_ops.tools.process import ServerProcess

    args = parse_args(argv)
    counts = [int(c) for c in args.connections.split(",") if c]
    server = None
    url = args.url
    if url is None:
        env = dict(item.split("=", 1) for item in args.env)
        server = ServerProcess(["--in-memory"], env={"C08_RERANK": "false", **env}).start()
        url = server.url
    try:
        rows = []
        for count in counts:
            rows.append(measure(url, count, args.health_requests, args.source).row())
            time.sleep(1.0)  # let the server close the last run's connections
        print(markdown(rows))
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
