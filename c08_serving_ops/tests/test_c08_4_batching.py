"""c08.4: the micro-batcher (budget, wait, routing, cancellation, failures) and /embed over HTTP (TEI's API)."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest
from conftest import LAYERS_OFF, AppServer, SharedComponents, make_settings, start_app

from c06_retrieval_tools import load_cranfield
from c08_serving_ops.core.settings import Settings
from c08_serving_ops.search.batcher import MicroBatcher, QueueFullError, padded_tokens
from c08_serving_ops.search.embedder import Embedder

pytestmark = pytest.mark.task("c08.4")

VECTOR_ATOL = 1e-5  # float32 BERT forward passes of the same text padded differently agree to ~1e-6


def echo_model(calls: list[list[Sequence[int]]]) -> Callable[[list[Sequence[int]]], np.ndarray]:  # type: ignore[type-arg]
    """A fake model: vector of a row = [first token, row length]; records each batch."""
    def model(rows: list[Sequence[int]]) -> np.ndarray:  # type: ignore[type-arg]
        calls.append(list(rows))
        if any(r[0] == 666 for r in rows):
            raise RuntimeError("poisoned batch")
        return np.array([[r[0], len(r)] for r in rows], dtype=np.float32)
    return model


def test_batches_respect_the_token_budget_and_results_go_back_to_each_caller() -> None:
    calls: list[list[Sequence[int]]] = []

    async def scenario() -> list[np.ndarray]:  # type: ignore[type-arg]
        batcher = MicroBatcher(echo_model(calls), max_batch_tokens=16, max_wait_s=0.2)
        jobs = [batcher.submit([[i, 0, 0, 0]]) for i in range(5)]  # 4 tokens each: 4 fit in 16
        jobs.append(batcher.submit([[7, 0], [8, 0, 0, 0, 0, 0, 0, 0]]))  # 2 rows x 8 = 16 tokens: alone
        batcher.start()
        out = [await job.future for job in jobs]
        await batcher.close()
        return out

    out = asyncio.run(scenario())
    assert [len(c) for c in calls] == [4, 1, 2]
    for i in range(5):
        np.testing.assert_array_equal(out[i], [[i, 4]])
    np.testing.assert_array_equal(out[5], [[7, 2], [8, 8]])
    assert all(padded_tokens([]) == 0 for _ in range(1))


def test_a_lone_request_waits_at_most_max_wait_and_late_ones_join() -> None:
    calls: list[list[Sequence[int]]] = []

    async def scenario() -> None:
        batcher = MicroBatcher(echo_model(calls), max_batch_tokens=1000, max_wait_s=0.5)
        batcher.start()
        first = batcher.submit([[1, 2]])
        await asyncio.sleep(0.05)
        second = batcher.submit([[3, 4]])  # arrives inside the first one's window: same batch
        await asyncio.gather(first.future, second.future)
        assert first.started_at is not None and first.started_at - first.enqueued_at < 2.0
        await batcher.close()

    asyncio.run(scenario())
    assert [len(c) for c in calls] == [2]


def test_a_cancelled_caller_is_dropped_and_a_model_error_fails_only_its_batch() -> None:
    calls: list[list[Sequence[int]]] = []
    gate = threading.Event()
    model = echo_model(calls)

    def gated(rows: list[Sequence[int]]) -> np.ndarray:  # type: ignore[type-arg]
        gate.wait(10)
        return model(rows)

    async def scenario() -> None:
        batcher = MicroBatcher(gated, max_batch_tokens=4, max_wait_s=0.0)
        batcher.start()
        poisoned = batcher.submit([[666, 1]])  # 2 tokens
        await asyncio.sleep(0.05)  # now running (blocked on the gate)
        gone = batcher.submit([[5, 5, 5, 5]])
        kept = batcher.submit([[6, 6]])
        assert batcher.queue_size == 2
        assert batcher.cancel(gone) and batcher.dropped == 1 and batcher.queue_size == 1
        assert not batcher.cancel(poisoned)  # already running: its result is discarded, not recomputed
        gate.set()
        with pytest.raises(asyncio.CancelledError):
            await poisoned.future
        np.testing.assert_array_equal(await kept.future, [[6, 2]])
        await batcher.close()

    asyncio.run(scenario())
    assert all(row[0] != 5 for batch in calls for row in batch)  # the dropped job never reached the model

    async def failing() -> None:
        batcher = MicroBatcher(model, max_batch_tokens=4, max_wait_s=0.0)
        batcher.start()
        bad = batcher.submit([[666, 1]])
        good = batcher.submit([[9, 9, 9, 9]])  # 4 tokens: does not fit beside the poisoned job
        with pytest.raises(RuntimeError, match="poisoned"):
            await bad.future
        np.testing.assert_array_equal(await good.future, [[9, 4]])
        await batcher.close()

    asyncio.run(failing())


def test_disabled_batching_full_queue_and_closing() -> None:
    calls: list[list[Sequence[int]]] = []

    async def scenario() -> None:
        batcher = MicroBatcher(echo_model(calls), enabled=False, max_queue=3)
        jobs = [batcher.submit([[i]]) for i in range(3)]
        with pytest.raises(QueueFullError):
            batcher.submit([[9]])
        batcher.start()
        await asyncio.gather(*(j.future for j in jobs))
        await batcher.close()
        with pytest.raises(RuntimeError, match="shutting down"):
            batcher.submit([[1]])

    asyncio.run(scenario())
    assert [len(c) for c in calls] == [1, 1, 1]
    with pytest.raises(ValueError):
        MicroBatcher(echo_model(calls), max_batch_tokens=0)


def test_embed_follows_tei_and_matches_the_c06_encoder(live: AppServer) -> None:
    components = live.service.components
    assert components is not None
    texts = ["boundary layer transition", "the flutter of thin wings at supersonic speed"]
    with live.client() as client:
        one = client.post("/embed", json={"inputs": texts[0]})
        many = client.post("/embed", json={"inputs": texts})
        raw = client.post("/embed", json={"inputs": texts, "normalize": False})
    assert one.status_code == many.status_code == raw.status_code == 200
    assert one.headers["content-type"] == "application/json"
    for name in ("x-queue-time", "x-inference-time"):
        assert float(one.headers[name]) >= 0
    reference = components.embedder.encoder.encode(texts, cached=False)  # c06: unit vectors
    np.testing.assert_allclose(np.array(one.json()), reference[:1], atol=VECTOR_ATOL)
    np.testing.assert_allclose(np.array(many.json()), reference, atol=VECTOR_ATOL)
    unnormalised = np.array(raw.json())
    norms = np.linalg.norm(unnormalised, axis=1)
    assert np.all(np.abs(norms - 1) > 0.01)
    np.testing.assert_allclose(unnormalised / norms[:, None], reference, atol=VECTOR_ATOL)


@pytest.mark.parametrize("body, message", [  # the request schema's own refusals are c08.1's (test_c08_1_schemas.py)
    ({"inputs": ["x"] * 33}, "at most 32"),
    ({"inputs": "word " * 400}, "longer than 256 tokens"),
])
def test_embed_rejects_bad_input_with_422(live: AppServer, body: dict[str, object], message: str) -> None:
    with live.client() as client:
        answer = client.post("/embed", json=body)
    assert answer.status_code == 422 and answer.json()["error_type"] == "validation_error"
    assert message in answer.json()["error"]


def test_malformed_json_and_truncation(live: AppServer) -> None:
    with live.client() as client:
        broken = client.post("/embed", content=b'{"inputs": ', headers={"content-type": "application/json"})
        assert broken.status_code == 422 and broken.json() == {"error": "the request body is not valid JSON",
                                                               "error_type": "invalid_json"}
        cut = client.post("/embed", json={"inputs": "word " * 400, "truncate": True})
        assert cut.status_code == 200 and len(cut.json()[0]) == 384


class GatedEmbedder:
    """live's embedder, whose forward pass waits for a gate (to hold a batch in the model)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.gate = inner, threading.Event()
        self.max_tokens, self.dimension = inner.max_tokens, inner.dimension
        self.seen: list[int] = []

    def tokenize(self, texts: Sequence[str]) -> object:
        return self.inner.tokenize(texts)

    def forward(self, rows: list[Sequence[int]]) -> np.ndarray:  # type: ignore[type-arg]
        self.gate.wait(20)
        self.seen.append(len(rows))
        return self.inner.forward(rows)


def raw_post(port: int, body: dict[str, object]) -> socket.socket:
    data = json.dumps(body).encode()
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(b"POST /embed HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                 + f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
    return sock


def test_a_client_that_disconnects_mid_batch_is_dropped(live: AppServer, tmp_path: Path) -> None:
    components = live.service.components
    assert components is not None
    gated = GatedEmbedder(components.embedder)

    def loader(settings: Settings) -> SharedComponents:
        return SharedComponents(gated, components.store, components.engine)  # type: ignore[arg-type]

    server = start_app(make_settings(tmp_path, max_wait_ms=0.0, **LAYERS_OFF), loader)
    try:
        port = int(server.url.rsplit(":", 1)[1])
        running = raw_post(port, {"inputs": "held in the model"})
        deadline = time.monotonic() + 10
        while server.service.batcher is not None and server.service.batcher.batches == 0 \
                and time.monotonic() < deadline:
            time.sleep(0.01)
        leaving = raw_post(port, {"inputs": ["never computed"] * 3})
        while server.service.batcher is not None and server.service.batcher.queue_size == 0 \
                and time.monotonic() < deadline:
            time.sleep(0.01)
        leaving.close()  # the client goes away while its job waits in the queue
        while server.service.batcher is not None and server.service.batcher.dropped == 0 \
                and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.service.batcher is not None and server.service.batcher.dropped == 1
        gated.gate.set()
        answer = running.recv(65536)
        running.close()
        assert answer.startswith(b"HTTP/1.1 200")
        with server.client() as client:
            assert client.post("/embed", json={"inputs": ["after", "that"]}).status_code == 200
        assert gated.seen == [1, 2]  # the three dropped rows never ran
    finally:
        gated.gate.set()
        server.stop()


def test_batching_speeds_up_the_model_at_concurrency_32(live: AppServer, metric: Callable[..., None]) -> None:
    """The batching ratio on the model alone (no HTTP): 64 Cranfield queries from 32 concurrent callers.

    Shortened from the benchmark (README: HTTP end to end, 400 requests per side); threshold in tasks.toml.
    """
    components = live.service.components
    assert components is not None
    embedder = components.embedder
    queries = list(load_cranfield().queries.values())[:64]
    rows = [t.ids for t in embedder.tokenize(queries)]

    sizes: list[int] = []

    def model(batch: list[Sequence[int]]) -> np.ndarray:  # type: ignore[type-arg]
        sizes.append(len(batch))
        return embedder.forward(batch)

    async def throughput(enabled: bool) -> float:
        batcher = MicroBatcher(model, max_batch_tokens=8192, max_wait_s=0.002, enabled=enabled)
        batcher.start()
        started = time.perf_counter()

        async def caller(k: int) -> None:
            for row in rows[k::32]:
                await batcher.submit([row]).future

        await asyncio.gather(*(caller(k) for k in range(32)))
        elapsed = time.perf_counter() - started
        await batcher.close()
        return len(rows) / elapsed

    embedder.forward(rows[:4])  # warm up
    unbatched = asyncio.run(throughput(False))
    assert sizes == [1] * len(rows)
    sizes.clear()
    batched = asyncio.run(throughput(True))
    assert sum(sizes) == len(rows) and len(sizes) <= 4  # 32 callers at once: batches of about 32
    metric("embed_batching_speedup_c32", batched / unbatched)


def test_embedder_matches_c06_encoder(live: AppServer) -> None:
    components = live.service.components
    assert components is not None
    embedder: Embedder = components.embedder
    texts = ["the boundary layer", "supersonic flutter of a thin wing " * 3]
    reference = embedder.encoder.encode(texts, cached=False)
    np.testing.assert_allclose(embedder.embed(texts), reference, atol=1e-5)
    assert embedder.forward([]).shape == (0, embedder.dimension)
