"""c08.2: liveness and readiness, a request during start-up, a broken component, draining."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from conftest import AppServer

from c08_serving_ops.server.service import Phase

pytestmark = pytest.mark.task("c08.2")


def test_health_and_ready_once_loaded(live: AppServer) -> None:
    with live.client() as client:
        health = client.get("/health")
        assert health.status_code == 200
        assert health.json() == {"status": "ok", "phase": "ready", "components": {"model": "ok", "index": "ok"}}
        assert client.get("/ready").json() == {"status": "ready", "phase": "ready"}


def test_requests_during_start_up_get_503_then_200(app_server: Callable[..., AppServer]) -> None:
    release = threading.Event()
    server = app_server(before=lambda: release.wait(30), wait=False)
    with server.client() as client:
        assert client.get("/health").json()["phase"] == "loading"  # alive while loading
        ready = client.get("/ready")
        assert ready.status_code == 503 and ready.json()["error_type"] == "not_ready"
        for path, body in (("/embed", {"inputs": "x"}), ("/search", {"query": "x"}),
                           ("/documents", {"documents": [{"id": "a", "text": "b"}]})):
            early = client.post(path, json=body)
            assert early.status_code == 503 and early.headers["retry-after"] == "1", path
            assert early.json() == {"error": "the service is starting: models and indexes are loading",
                                    "error_type": "not_ready"}
        assert client.delete("/documents/a").status_code == 503
        release.set()
        server.wait_ready()
        assert client.get("/ready").status_code == 200


def test_a_failed_load_is_reported_by_health(app_server: Callable[..., AppServer]) -> None:
    def fail() -> None:
        raise OSError("the index folder is not readable")

    server = app_server(before=fail, wait=False)
    for _ in range(500):
        if server.service.phase is Phase.BROKEN:
            break
        threading.Event().wait(0.01)
    with server.client() as client:
        health = client.get("/health")
        assert health.status_code == 503 and health.json()["error_type"] == "not_ready"
        assert "OSError: the index folder is not readable" in health.json()["error"]
        assert client.get("/ready").status_code == 503
        embed = client.post("/embed", json={"inputs": "x"})
        assert embed.status_code == 503 and "not readable" in embed.json()["error"]


def test_an_inconsistent_store_makes_health_fail(live: AppServer, monkeypatch: pytest.MonkeyPatch) -> None:
    components = live.service.components
    assert components is not None
    monkeypatch.setattr(components.store, "consistent", False)
    with live.client() as client:
        health = client.get("/health")
        assert health.status_code == 503 and health.json()["components"]["index"] == "inconsistent"
        assert client.get("/ready").status_code == 503
        assert client.post("/search", json={"query": "flow"}).status_code == 503


def test_draining_is_not_ready(app_server: Callable[..., AppServer]) -> None:
    server = app_server()
    server.service.begin_drain()
    with server.client() as client:
        ready = client.get("/ready")
        assert ready.status_code == 503 and ready.json()["error"] == "the service is shutting down"
        assert client.get("/health").status_code == 200  # alive: finishing its work
        assert client.post("/embed", json={"inputs": "x"}).status_code == 503


def test_a_server_without_the_language_model_answers_503_on_generate(live: AppServer) -> None:
    with live.client() as http:  # live runs with generation off
        response = http.post("/generate", json={"inputs": "The capital of France is"})
    assert response.status_code == 503 and "C08_GENERATION" in response.json()["error"]


@pytest.mark.parametrize("body, message", [
    ({"inputs": []}, "at least one text"),
    ({"inputs": ["ok", "  "]}, "text 1 is empty"),
    ({"inputs": 5}, "inputs"),
    ({"inputs": ["a", 3]}, "inputs"),
    ({"inputs": "a", "normalize": "yes"}, "normalize"),
    ({"inputs": "a", "pooling": "cls"}, "pooling"),
    ({}, "inputs"),
])
def test_the_embed_schema_refuses_with_422_before_any_handler(live: AppServer, body: dict[str, object],
                                                               message: str) -> None:
    # a route's readiness dependency answers first (503 while loading), then the schema, before the handler
    with live.client() as client:
        answer = client.post("/embed", json=body)
    assert answer.status_code == 422 and answer.json()["error_type"] == "validation_error"
    assert message in answer.json()["error"]
