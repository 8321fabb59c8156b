"""c08.5: the schema is the behaviour on every part-1 route: bounds, blank text and invalid text refused with 422.

The routes run on an app with its own small in-memory store (its writes through ``/documents``
land there, not in the shared one), without the guard and observability layers. The schema served at
``/openapi.json`` states the server's own bounds, and the server keeps them. Invalid text is a lone
surrogate, which JSON can carry as an escape (``"\\ud800"``): every text field of every route refuses it
with 422 and the service's error shape, tried at both edges of both surrogate halves; valid
neighbours and surrogate pairs pass. (The schemathesis fuzz of these routes is c08.8's.)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from conftest import LAYERS_OFF, AppServer, make_settings, small_store_loader, start_app

from c08_serving_ops.core.schemas import NOT_BLANK

pytestmark = pytest.mark.task("c08.5")

EDGES = ["\ud800", "\udbff", "\udc00", "\udfff"]  # first and last high surrogate, first and last low one


@pytest.fixture(scope="module")
def own_store(live: AppServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """An app over live's embedder and a six-document in-memory store of its own, layers off."""
    server = start_app(make_settings(tmp_path_factory.mktemp("schema"), rerank=False, **LAYERS_OFF),
                       small_store_loader(live))
    yield server
    server.stop()


def post_raw(http: httpx.Client, path: str, body: Any) -> httpx.Response:
    """POST ``body`` as ASCII JSON, so that a lone surrogate travels as its escape (as any JSON client may send it)."""
    return http.post(path, content=json.dumps(body).encode(), headers={"content-type": "application/json"})


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
    """The code points next to the surrogates, and pairs (which travel as two escapes), pass on every text route."""
    with own_store.client() as http:
        for number, text in enumerate(("\ud7ff", "\ue000", "\U0001f600", "\U00040000 \U000bffff \U0010ffff")):
            document = {"id": f"valid-{number}", "title": text, "text": f"wing {text}", "metadata": {"k": text}}
            for path, body in (("/embed", {"inputs": f"wing {text}"}), ("/search", {"query": f"wing {text}"}),
                               ("/search", {"query": "wing", "filter": {"k": text}}),
                               ("/documents", {"documents": [document]})):
                response = post_raw(http, path, body)
                assert response.status_code == 200, (path, text, response.text)
            assert http.delete(f"/documents/valid-{number}").status_code == 200
