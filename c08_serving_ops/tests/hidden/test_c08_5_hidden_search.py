"""c08.5 (hidden): search edge cases over HTTP: odd queries, deep top_k, metadata updates."""

from __future__ import annotations

import pytest
from conftest import AppServer

pytestmark = pytest.mark.task("c08.5")


@pytest.mark.parametrize("query", ["(chapman-enskog theory)", "the ?slip? effect", "the of and", "流体 力学 ∂u/∂t",
                                   "x" * 4000])
def test_odd_queries_never_fail(live: AppServer, query: str) -> None:
    with live.client() as client:
        for mode in ("bm25", "dense", "hybrid"):
            answer = client.post("/search", json={"query": query, "mode": mode, "top_k": 3})
            assert answer.status_code == 200, (mode, answer.text)
            assert len(answer.json()["hits"]) <= 3


def test_metadata_update_moves_a_document_between_filters(live: AppServer) -> None:
    with live.client() as client:
        doc = {"id": "hidden-meta", "text": "quasar nozzle erosion", "metadata": {"tier": "gold"}}
        assert client.post("/documents", json={"documents": [doc]}).status_code == 200
        gold = client.post("/search", json={"query": "quasar nozzle", "filter": {"tier": "gold"}}).json()["hits"]
        assert [h["id"] for h in gold] == ["hidden-meta"]
        doc["metadata"] = {"tier": "silver"}
        assert client.post("/documents", json={"documents": [doc]}).status_code == 200
        gold = client.post("/search", json={"query": "quasar nozzle", "filter": {"tier": "gold"}}).json()["hits"]
        silver = client.post("/search", json={"query": "quasar nozzle", "filter": {"tier": "silver"}}).json()
        assert gold == [] and [h["id"] for h in silver["hits"]] == ["hidden-meta"]
        assert client.delete("/documents/hidden-meta").status_code == 200
