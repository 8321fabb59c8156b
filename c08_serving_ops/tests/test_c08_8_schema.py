"""c08.8: the schema is the behaviour: every schemathesis check on every part-1 route, and any text.

The fuzz runs against a server with its own small in-memory store (its writes through
``/documents`` land there, not in the shared one). Invalid text is a lone surrogate, which JSON can
carry as an escape (``"\\ud800"``): every text field of every route refuses it with 422 and the
service's error shape, tried at both edges of both surrogate halves and by hypothesis.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from conftest import AppServer, make_settings, start_app

from c06_retrieval_tools import Collection, Document
from c08_serving_ops.core.schemas import NOT_BLANK
from c08_serving_ops.core.settings import Settings
from c08_serving_ops.search.components import Components
from c08_serving_ops.search.documents import DocumentStore
from c08_serving_ops.search.engine import SearchEngine
from c08_serving_ops.tools.fuzz import CHECK_NAMES, fuzz

pytestmark = pytest.mark.task("c08.8")

GENERATION_PATHS = ("/generate", "/v1/chat/completions", "/v1/models", "/v1/models/{model_id}", "/rag")
FUZZ_EXAMPLES = 10  # per operation and mode: 7 operations, 73 distinct cases, every check on each
EDGES = ["\ud800", "\udbff", "\udc00", "\udfff"]  # first and last high surrogate, first and last low one


@pytest.fixture(scope="module")
def own_store(live: AppServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """An app over live's embedder and a six-document in-memory store of its own."""
    shared = live.service.components
    assert shared is not None

    def load(config: Settings) -> Components:
        docs = [Document(f"d{i}", f"title {i}", f"wing flutter number {i} at supersonic speed") for i in range(6)]
        collection = Collection("tiny", docs, {"q1": "wing flutter"}, {"q1": {"d1": 1}})
        store = DocumentStore.open(collection, lambda texts: shared.embedder.encoder.encode(list(texts)),
                                   shared.embedder.dimension, path=config.index_path, in_memory=True)
        return Components(shared.embedder, store, SearchEngine(store, None, config.rerank_depth))

    server = start_app(make_settings(tmp_path_factory.mktemp("fuzz"), rerank=False), load)
    yield server
    server.stop()


def post_raw(http: httpx.Client, path: str, body: Any) -> httpx.Response:
    """POST ``body`` as ASCII JSON, so that a lone surrogate travels as its escape (as any JSON client may send it)."""
    return http.post(path, content=json.dumps(body).encode(), headers={"content-type": "application/json"})


def test_every_check_on_every_route_finds_nothing(own_store: AppServer, metric: Callable[..., None]) -> None:
    report = fuzz(own_store.url, max_examples=FUZZ_EXAMPLES, skip_paths=GENERATION_PATHS)
    assert report.checks == CHECK_NAMES and len(CHECK_NAMES) >= 14  # all of schemathesis' checks, not one
    assert report.operations == 7 and report.cases >= 60
    assert {200, 422} <= set(report.statuses)
    metric("fuzz_server_errors", len(report.server_errors))
    metric("fuzz_check_failures", len(report.failures))
    assert report.failures == [], report.failures[:10]
    assert report.row()["failures"] == 0 and report.row()["checks"] == len(CHECK_NAMES)


def test_the_fuzz_reports_what_the_schema_does_not_say(own_store: AppServer) -> None:
    """A server that refuses what its schema accepts is caught (here: a schema that forgets a bound)."""
    app = own_store.app
    spec = app.openapi()
    top_k = spec["components"]["schemas"]["SearchRequest"]["properties"]["top_k"]
    saved = dict(top_k)
    top_k["maximum"] = 1_000_000  # the schema now lies: the server still refuses over max_top_k
    try:
        report = fuzz(own_store.url, max_examples=15, skip_paths=(*GENERATION_PATHS, "/embed", "/documents",
                                                                  "/documents/{doc_id}", "/health", "/ready",
                                                                  "/metrics"))
    finally:
        top_k.clear()
        top_k.update(saved)
    assert any("POST /search -> 422" in f and "rejected" in f for f in report.failures), report.failures


def test_the_schema_states_the_server_bounds(own_store: AppServer) -> None:
    config = own_store.service.settings
    with own_store.client() as http:
        spec = http.get("/openapi.json").json()
        at_limit = http.post("/search", json={"query": "wing", "top_k": config.max_top_k})
        over = http.post("/search", json={"query": "wing", "top_k": config.max_top_k + 1})
        integral = http.post("/search", json={"query": "wing", "top_k": 3.0})
        fraction = http.post("/search", json={"query": "wing", "top_k": 3.5})
        empty = http.post("/embed", json={"inputs": ""})
        blank = http.post("/embed", json={"inputs": ["ok", " \u3000"]})
    schemas = spec["components"]["schemas"]
    assert schemas["SearchRequest"]["properties"]["top_k"]["maximum"] == config.max_top_k
    assert at_limit.status_code == 200 and over.status_code == 422
    assert integral.status_code == 200 and fraction.status_code == 422
    inputs = schemas["EmbedRequest"]["properties"]["inputs"]["anyOf"]
    assert inputs[0]["pattern"] == NOT_BLANK and inputs[1]["maxItems"] == config.max_client_batch
    assert empty.status_code == 422 and blank.status_code == 422
    assert schemas["SearchRequest"]["properties"]["rerank"]["const"] is False  # no reranker on this server
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            declared = set(operation["responses"])
            if path not in ("/health", "/ready", "/metrics"):
                assert {"401", "408", "413", "429", "500", "503"} <= declared, (method, path)
                assert ("400" in declared) == path.startswith("/v1/"), (method, path)
                assert ("422" in declared) == (not path.startswith("/v1/")), (method, path)


@pytest.mark.parametrize("surrogate", EDGES)
def test_a_lone_surrogate_is_422_on_every_route(own_store: AppServer, surrogate: str) -> None:
    text = f"wing {surrogate} flutter"
    bodies: list[tuple[str, Any, str]] = [
        ("/embed", {"inputs": text}, "inputs"),
        ("/embed", {"inputs": ["fine", text]}, "inputs"),
        ("/search", {"query": text}, "query"),
        ("/search", {"query": "wing", "filter": {"tag": text}}, "filter"),
        ("/search", {"query": "wing", "filter": {"tag": ["a", text]}}, "filter"),
        ("/search", {"query": "wing", "filter": {text: "a"}}, "filter"),  # a key: the error quotes it, escaped
        ("/documents", {"documents": [{"id": "s1", "text": text}]}, "text"),
        ("/documents", {"documents": [{"id": "s1", "text": "t", "title": text}]}, "title"),
        ("/documents", {"documents": [{"id": f"s{surrogate}", "text": "t"}]}, "id"),
        ("/documents", {"documents": [{"id": "s1", "text": "t", "metadata": {"k": text}}]}, "metadata"),
    ]
    with own_store.client() as http:
        for path, body, field in bodies:
            response = post_raw(http, path, body)
            assert response.status_code == 422, (path, body, response.text)
            error = response.json()
            assert error["error_type"] == "validation_error" and field in error["error"], (path, error)
            assert set(error) == {"error", "error_type"}
        assert http.post("/search", json={"query": "wing"}).status_code == 200  # the server is unharmed


def test_valid_neighbours_and_pairs_pass(own_store: AppServer) -> None:
    with own_store.client() as http:
        for text in ("\ud7ff", "\ue000", "\U0001f600", "\U00040000 \U000bffff \U0010ffff"):
            response = post_raw(http, "/embed", {"inputs": f"wing {text}"})  # a pair travels as two escapes
            assert response.status_code == 200, (text, response.text)
