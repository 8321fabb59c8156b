"""Does heavy work stall the event loop? ``/health`` latency while big /embed inputs and a generation run.

One event loop serves every request of the process. Anything CPU-bound that a handler runs on it
(tokenising a 1 MB text, a model step) stops *every* other request for as long, ``/health``
included, and an orchestrator whose probe times out restarts a healthy server. The service keeps
such work on threads (:meth:`~c08_serving_ops.service.Service.offload`, the batcher's model thread,
the generation worker); this measures whether it worked from outside, as a probe sees it.

``python -m c08_serving_ops.loop_stall`` starts the real server (``--in-memory --generation``; or
talks to ``--url``), sends ``--inputs`` /embed requests of one ``--chars``-character text each
(``truncate``: each is embedded as its first 256 tokens) and one /generate, all at once, and
polls ``/health`` until they have all answered: p50, p99 and max of those latencies.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import httpx

from c08_serving_ops.loadgen import check_loopback, percentile

TEXT_UNIT = "the boundary layer of a heated plate in hypersonic flow "


def big_text(chars: int) -> str:
    return (TEXT_UNIT * (chars // len(TEXT_UNIT) + 1))[:chars]


def measure_stall(url: str, inputs: int = 10, chars: int = 990_000, generate: bool = True,
                  headers: dict[str, str] | None = None, min_probes: int = 20) -> dict[str, Any]:
    """/health latencies (ms) while ``inputs`` big /embed requests (and a /generate) are in flight."""
    check_loopback(url)
    text = big_text(chars)
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def post(path: str, body: dict[str, Any]) -> None:
        with httpx.Client(base_url=url, timeout=300.0, headers=headers or {}) as http:
            status = http.post(path, json=body).status_code
        with lock:
            statuses[status] += 1

    work = [threading.Thread(target=post, args=("/embed", {"inputs": text, "truncate": True}))
            for _ in range(inputs)]
    if generate:
        work.append(threading.Thread(target=post, args=("/generate", {
            "inputs": "Write a long essay about the sea.", "parameters": {"max_new_tokens": 24}})))
    health_ms: list[float] = []
    with httpx.Client(base_url=url, timeout=60.0, headers=headers or {}) as probe:
        probe.get("/health")  # connect first: the figure is the loop's delay, not a handshake
        started_all = time.perf_counter()
        for thread in work:
            thread.start()
        while any(t.is_alive() for t in work) or len(health_ms) < min_probes:
            started = time.perf_counter()
            probe.get("/health").raise_for_status()
            health_ms.append((time.perf_counter() - started) * 1000)
            time.sleep(0.005)
        seconds = time.perf_counter() - started_all
    for thread in work:
        thread.join()
    return {"inputs": inputs, "chars": chars, "generation": generate, "statuses": dict(statuses),
            "seconds": round(seconds, 2), "probes": len(health_ms),
            "health_p50_ms": round(percentile(health_ms, 50), 2), "health_p99_ms": round(percentile(health_ms, 99), 2),
            "health_max_ms": round(max(health_ms), 2)}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m c08_serving_ops.loop_stall", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running server (default: start one, --in-memory --generation)")
    parser.add_argument("--inputs", type=int, default=10, help="big /embed requests at once")
    parser.add_argument("--chars", type=int, default=990_000, help="characters of each input (the body stays < 1 MB)")
    parser.add_argument("--no-generation", dest="generation", action="store_false", help="no /generate beside them")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    from c08_serving_ops.process import ServerProcess

    args = parse_args(argv)
    server = None
    url = args.url
    if url is None:
        flags = ["--in-memory", "--generation"] if args.generation else ["--in-memory"]
        server = ServerProcess(flags, env={"C08_RERANK": "false"}).start()
        url = server.url
    try:
        print(measure_stall(url, args.inputs, args.chars, args.generation))
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
