"""c08.8: the real server as a subprocess on a loopback port: every endpoint and status code, logs, drain.

One server (``smoke_server``, started once per session) answers the endpoint and error
tests; each test uses its own bearer key so the quotas (burst 300, 1 per second) of one
test never touch another's (``test_c08_8_load.py`` runs its short load with the key "load").
A second, small server (a six-document collection) is started and stopped with SIGTERM
while a request is in flight, to check the graceful drain.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from c06_retrieval_tools import Collection, Document, write_beir
from c08_serving_ops.tools.process import ServerProcess

pytestmark = pytest.mark.task("c08.8")

JSON_ERROR_KEYS = {"error", "error_type"}


def client(server: ServerProcess, key: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=server.url, headers=headers, timeout=60.0)


def is_error(response: httpx.Response, status: int, error_type: str) -> bool:
    body: dict[str, Any] = response.json()
    return response.status_code == status and set(body) == JSON_ERROR_KEYS and body["error_type"] == error_type


def test_probes_and_every_endpoint(smoke_server: ServerProcess) -> None:
    with client(smoke_server, "smoke-a") as http:
        assert http.get("/health").json()["status"] == "ok"
        assert http.get("/ready").status_code == 200
        vectors = http.post("/embed", json={"inputs": ["first text", "second text"]})
        assert vectors.status_code == 200 and [len(v) for v in vectors.json()] == [384, 384]
        for mode in ("bm25", "dense", "hybrid"):
            found = http.post("/search", json={"query": "heat transfer in hypersonic flow", "mode": mode, "top_k": 3})
            assert found.status_code == 200 and len(found.json()["hits"]) == 3
        convex = http.post("/search", json={"query": "heat transfer", "fusion": "convex", "top_k": 2})
        assert convex.status_code == 200
        added = http.post("/documents", json={"documents": [{"id": "smoke-doc", "text": "gravitational zeppelins"}]})
        assert added.json() == {"upserted": 1, "ids": ["smoke-doc"]}
        hits = http.post("/search", json={"query": "zeppelins", "mode": "bm25", "top_k": 1}).json()["hits"]
        assert hits[0]["id"] == "smoke-doc"
        assert http.delete("/documents/smoke-doc").json() == {"deleted": "smoke-doc"}
        assert "c08_requests_total" in http.get("/metrics").text
        rerank = http.post("/search", json={"query": "heat", "rerank": True})  # this server runs without it
        assert is_error(rerank, 422, "validation_error")


def test_every_error_status_is_json(smoke_server: ServerProcess) -> None:
    with client(smoke_server, None) as anonymous:
        assert is_error(anonymous.post("/embed", json={"inputs": "x"}), 401, "unauthorized")
        assert anonymous.get("/health").status_code == 200  # probes need no key
    with client(smoke_server, "smoke-b") as http:
        assert is_error(http.get("/nowhere"), 404, "not_found")
        assert is_error(http.delete("/documents/never-there"), 404, "not_found")
        assert is_error(http.get("/embed"), 405, "method_not_allowed")
        assert is_error(http.post("/embed", json={"inputs": "x" * 300_000}), 413, "payload_too_large")
        assert is_error(http.post("/embed", content=b"{not json", headers={"content-type": "application/json"}),
                        422, "invalid_json")
        assert is_error(http.post("/embed", json={"inputs": 42}), 422, "validation_error")
        assert is_error(http.post("/embed", json={"inputs": []}), 422, "validation_error")
        assert is_error(http.post("/embed", json={"inputs": ["x"] * 100}), 422, "validation_error")
        assert is_error(http.post("/embed", json={"inputs": "long " * 1000}), 422, "validation_error")
        assert is_error(http.post("/search", json={"query": "x", "surprise": 1}), 422, "validation_error")
        assert is_error(http.post("/search", json={"query": ""}), 422, "validation_error")


def test_a_flood_beyond_the_quota(smoke_server: ServerProcess) -> None:
    with client(smoke_server, "flood") as http:
        statuses = [http.get("/nowhere").status_code for _ in range(310)]
        assert statuses.count(404) >= 300 and statuses[-1] == 429
        refused = http.get("/nowhere")
        assert is_error(refused, 429, "rate_limited") and int(refused.headers["retry-after"]) >= 1
    with client(smoke_server, "smoke-c") as other:  # another key is not affected
        assert other.post("/embed", json={"inputs": "still fine"}).status_code == 200


def test_logs_are_json_lines_with_request_ids(smoke_server: ServerProcess) -> None:
    with client(smoke_server, "smoke-d") as http:
        answer = http.post("/embed", json={"inputs": "log me"}, headers={"X-Request-ID": "smoke-req-1"})
    assert answer.headers["x-request-id"] == "smoke-req-1"
    deadline = time.monotonic() + 10
    while not any(r.get("request_id") == "smoke-req-1" for r in smoke_server.logs()) and time.monotonic() < deadline:
        time.sleep(0.05)
    records = smoke_server.logs()
    json_lines = [line for line in smoke_server.lines if line.startswith("{")]
    assert len(records) == len(json_lines) >= 3
    assert all("request_id" in r for r in records)
    line = next(r for r in records if r.get("request_id") == "smoke-req-1")
    assert line["event"] == "request" and line["route"] == "/embed" and line["status"] == 200
    assert records[0]["event"] == "listening" and records[0]["host"] == "127.0.0.1"


@pytest.fixture(scope="module")
def tiny_collection(tmp_path_factory: pytest.TempPathFactory) -> Path:
    docs = [Document(f"t{i}", f"title {i}", f"drag of slender bodies number {i}") for i in range(6)]
    return write_beir(Collection("tinysmoke", docs, {"q": "drag"}, {"q": {"t1": 1}}),
                      tmp_path_factory.mktemp("beir") / "tinysmoke")


def test_start_up_and_graceful_drain(tiny_collection: Path, tmp_path: Path) -> None:
    server = ServerProcess(["--collection", str(tiny_collection), "--index-path", str(tmp_path / "index")],
                           env={"C08_RERANK": "false", "C08_MAX_WAIT_MS": "0"})
    server.start()
    try:
        deadline = time.monotonic() + 10  # the reader thread may be a line or two behind /ready
        while not any(r["event"] == "ready" for r in server.logs()) and time.monotonic() < deadline:
            time.sleep(0.02)
        phases = [r["event"] for r in server.logs()]
        assert phases[0] == "listening" and "components_loaded" in phases and "ready" in phases
        result: dict[str, Any] = {}

        def long_request() -> None:
            with httpx.Client(base_url=server.url, timeout=60) as http:
                result["answer"] = http.post("/embed", json={"inputs": ["a long text to embed " * 20] * 16,
                                                              "truncate": True})

        worker = threading.Thread(target=long_request)
        worker.start()
        time.sleep(0.3)  # the request is in the model now (its forward pass takes about a second)
        assert server.proc is not None
        os.kill(server.pid, signal.SIGTERM)
        worker.join(60)
        assert result["answer"].status_code == 200 and len(result["answer"].json()) == 16  # drained, not cut
        assert server.proc.wait(30) == 0
        assert server.stop() == 0  # joins the reader: every line is in
        events = [r["event"] for r in server.logs()]
        ours = [r["event"] for r in server.logs() if r.get("logger") != "uvicorn.error"]  # uvicorn logs its own end
        assert "draining" in events and ours[-1] == "stopped"
    finally:
        server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/health", timeout=2)
