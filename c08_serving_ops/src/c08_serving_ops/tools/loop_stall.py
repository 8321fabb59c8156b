"""Does heavy work stall the event loop? ``/health`` latency while big /embed inputs and a generation run.

One event loop serves every request of the process. Anything CPU-bound that a handler runs on it
(tokenising a 1 MB text, a model step) stops *every* other request for as long, ``/health``
included, and an orchestrator whose probe times out restarts a healthy server (or stops sending
it traffic). The service keeps
such work on threads (:meth:`~c08_serving_ops.server.service.Service.offload`, the batcher's model thread,
the generation worker); this measures whether it worked from outside, as a probe sees it.

``python -m c08_serving_ops.tools.loop_stall`` starts the real server (``--in-memory --generation``; or
talks to ``--url``), sends ``--inputs`` /embed requests of one ``--chars``-character text each
(``truncate``: each is embedded as its first 256 tokens) and one /generate, all at once, and
polls ``/health`` every 50 ms (well above its usual latency, so the schedule holds) until they
have all answered: p50, p99 and max of the latencies, each counted from when its probe was due (a
stall delays every probe due during it).
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx

from c08_serving_ops.tools.loadgen import check_loopback, percentile

TEXT_UNIT = "the boundary layer of a heated plate in hypersonic flow "


def big_text(chars: int) -> str:
    return (TEXT_UNIT * (chars // len(TEXT_UNIT) + 1))[:chars]


def post_raw(url: str, path: str, body: bytes, headers: dict[str, str], timeout_s: float = 300.0) -> int:
    """POST ``body`` over a plain socket and return the status. The senders must not slow the probe down: an
    HTTP client in a thread holds this process's GIL while it encodes and frames a megabyte (measured: the
    probe's p99 rose from 0.4 s with curl as the senders to 2.3 s with httpx threads)."""
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    head = (f"POST {path} HTTP/1.1\r\nHost: {parts.hostname}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n{extra}\r\n").encode()
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout_s) as sock:
        sock.sendall(head + body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return int(answer[9:12])


def measure_stall(url: str, inputs: int = 10, chars: int = 990_000, generate: bool = True,
                  headers: dict[str, str] | None = None, min_probes: int = 20, interval_s: float = 0.05,
                  ) -> dict[str, Any]:
    """/health latencies (ms, from when each probe was due: one every ``interval_s``) while ``inputs`` big
    /embed requests (and a /generate) are in flight."""
    check_loopback(url)
    text = big_text(chars)
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def post(path: str, body: bytes) -> None:
        status = post_raw(url, path, body, headers or {})
        with lock:
            statuses[status] += 1

    embed = json.dumps({"inputs": text, "truncate": True}).encode()  # encoded once, before the clock starts
    work = [threading.Thread(target=post, args=("/embed", embed)) for _ in range(inputs)]
    if generate:
        work.append(threading.Thread(target=post, args=("/generate", json.dumps({
            "inputs": "Write a long essay about the sea.", "parameters": {"max_new_tokens": 24}}).encode())))
    health_ms: list[float] = []
    with httpx.Client(base_url=url, timeout=60.0, headers=headers or {}) as probe:
        probe.get("/health")  # connect first: the figure is the loop's delay, not a handshake
        started_all = time.perf_counter()
        for thread in work:
            thread.start()
        while any(t.is_alive() for t in work) or len(health_ms) < min_probes:
            # Probes on a fixed schedule, each timed from when it was due: a stall of S seconds makes every probe
            # due meanwhile late (S / interval of them), so the percentiles see it. Timing each probe from when
            # it was sent would count one slow probe per stall, however long (coordinated omission).
            due = started_all + len(health_ms) * interval_s
            time.sleep(max(0.0, due - time.perf_counter()))
            probe.get("/health").raise_for_status()
            health_ms.append((time.perf_counter() - due) * 1000)
        seconds = time.perf_counter() - started_all
    for thread in work:
        thread.join()
    return {"inputs": inputs, "chars": chars, "generation": generate, "statuses": dict(statuses),
            "seconds": round(seconds, 2), "probes": len(health_ms),
            "health_p50_ms": round(percentile(health_ms, 50), 2), "health_p99_ms": round(percentile(health_ms, 99), 2),
            "health_max_ms": round(max(health_ms), 2)}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m c08_serving_ops.tools.loop_stall",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running server (default: start one, --in-memory --generation)")
    parser.add_argument("--inputs", type=int, default=10, help="big /embed requests at once")
    parser.add_argument("--chars", type=int, default=990_000, help="characters of each input (the body stays < 1 MB)")
    parser.add_argument("--no-generation", dest="generation", action="store_false", help="no /generate beside them")
    parser.add_argument("--interval-ms", type=float, default=50.0, help="one /health probe due every this often")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    from c08_serving_ops.tools.process import ServerProcess

    args = parse_args(argv)
    server = None
    url = args.url
    if url is None:
        flags = ["--in-memory", "--generation"] if args.generation else ["--in-memory"]
        server = ServerProcess(flags, env={"C08_RERANK": "false"}).start()
        url = server.url
    try:
        print(measure_stall(url, args.inputs, args.chars, args.generation, interval_s=args.interval_ms / 1000))
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
