"""c08.5: /search in every mode against c06 oracles, the result cache, and /documents across both indexes."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from conftest import AppServer, tokenize_threads

from c06_retrieval_tools import (
    CANDIDATE_FACTOR,
    Collection,
    Document,
    TantivyBM25,
    convex_combination,
    evaluate_run,
    load_cranfield,
    reciprocal_rank_fusion,
)
from c08_serving_ops.search.cache import TTLCache, normalise_request
from c08_serving_ops.search.documents import DocumentStore, IndexWriteError, StoredDocument, matches
from c08_serving_ops.search.engine import SearchEngine

pytestmark = pytest.mark.task("c08.5")

SCORE_ATOL = 1e-4  # BM25 scores are float32 in tantivy; cosines of float32 vectors
QUERY = "boundary layer transition on a flat plate"


@pytest.fixture(scope="module")
def cranfield() -> Collection:
    return load_cranfield()


@pytest.fixture(scope="module")
def reference_bm25(cranfield: Collection) -> TantivyBM25:
    index = TantivyBM25.create(None)
    index.add(cranfield.documents)
    return index


@pytest.fixture(scope="module")
def client(reranking: AppServer) -> Iterator[httpx.Client]:
    with reranking.client() as http:
        yield http


def search(client: httpx.Client, **body: Any) -> dict[str, Any]:
    answer = client.post("/search", json={"query": QUERY, **body})
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def test_bm25_mode_equals_c06_tantivy(client: httpx.Client, reference_bm25: TantivyBM25) -> None:
    hits = search(client, mode="bm25", top_k=10)["hits"]
    expected = reference_bm25.search(QUERY, 10)
    assert [h["id"] for h in hits] == [d for d, _ in expected]
    np.testing.assert_allclose([h["score"] for h in hits], [s for _, s in expected], atol=SCORE_ATOL)
    assert [h["ranks"]["bm25"] for h in hits] == list(range(1, 11))
    assert all(h["ranks"]["dense"] is None for h in hits)
    assert "<b>" in hits[0]["snippet"] and hits[0]["title"]


def test_dense_mode_equals_brute_force(client: httpx.Client, live: AppServer, cranfield: Collection) -> None:
    components = live.service.components
    assert components is not None
    vectors = components.embedder.encoder.encode([d.text for d in cranfield.documents])  # (1400, 384)
    query = components.embedder.embed([QUERY])[0]
    scores = vectors @ query
    order = np.argsort(-scores)[:10]
    hits = search(client, mode="dense", top_k=10)["hits"]
    assert [h["id"] for h in hits] == [cranfield.documents[i].doc_id for i in order]
    np.testing.assert_allclose([h["score"] for h in hits], scores[order], atol=SCORE_ATOL)


@pytest.mark.parametrize("fusion", ["rrf", "convex"])
def test_hybrid_fuses_both_lists_as_c06_does(client: httpx.Client, live: AppServer, fusion: str) -> None:
    components = live.service.components
    assert components is not None
    engine: SearchEngine = components.engine
    vector = components.embedder.embed([QUERY])[0]
    depth = CANDIDATE_FACTOR * 5  # the server's candidates per side for top_k = 5
    bm25, dense = engine.bm25(QUERY, depth, None), engine.dense(vector, depth, None)
    fused = reciprocal_rank_fusion([bm25, dense]) if fusion == "rrf" else convex_combination([bm25, dense])
    best = sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:5]
    hits = search(client, mode="hybrid", fusion=fusion, top_k=5)["hits"]
    np.testing.assert_allclose([h["score"] for h in hits], [s for _, s in best], atol=1e-9)
    assert {h["id"] for h in hits} == {d for d, _ in best}
    assert all(h["ranks"]["bm25"] or h["ranks"]["dense"] for h in hits)


def test_served_hybrid_quality_on_held_out_queries(reranking: AppServer, cranfield: Collection,
                                                  metric: Callable[..., None]) -> None:
    """nDCG@10 of hybrid RRF + rerank over HTTP on 60 judged queries the reranker did not train on."""
    held_out = cranfield.judged_queries()[reranking.service.settings.rerank_train_queries:][:60]
    run: dict[str, dict[str, float]] = {}
    with reranking.client() as http:
        for qid in held_out:
            hits = http.post("/search", json={"query": cranfield.queries[qid], "top_k": 10, "rerank": True}).json()
            run[qid] = {h["id"]: h["score"] for h in hits["hits"]}
    qrels = {q: cranfield.qrels[q] for q in held_out}
    metric("served_hybrid_ndcg_at_10", evaluate_run(run, qrels, ["ndcg@10"])["ndcg@10"])


def test_filters_restrict_both_retrievers(client: httpx.Client) -> None:
    for mode in ("bm25", "dense", "hybrid"):
        assert len(search(client, mode=mode, filter={"source": "cranfield"})["hits"]) == 10
        assert search(client, mode=mode, filter={"source": "elsewhere"})["hits"] == []
        listed = search(client, mode=mode, filter={"source": ["elsewhere", "cranfield"]}, top_k=3)
        assert len(listed["hits"]) == 3
    assert matches({"n": 1}, {"n": 1}) and not matches({"n": True}, {"n": 1}) and matches({}, None)


def test_rerank_reorders_the_head(client: httpx.Client) -> None:
    plain = search(client, top_k=10)
    reranked = search(client, top_k=10, rerank=True)
    assert reranked["reranked"] and not plain["reranked"]
    assert [h["id"] for h in plain["hits"]] != [h["id"] for h in reranked["hits"]]
    scores = [h["score"] for h in reranked["hits"]]
    assert scores == sorted(scores, reverse=True)


def test_the_cache_answers_repeats_and_counts(client: httpx.Client, reranking: AppServer) -> None:
    cache = reranking.service.cache  # the cache of the app the client talks to
    hits, misses = cache.hits, cache.misses
    first = client.post("/search", json={"query": "Shock  waves in NOZZLES", "top_k": 4})
    again = client.post("/search", json={"top_k": 4, "query": "shock waves in nozzles "})
    assert first.headers["x-cache"] == "miss" and again.headers["x-cache"] == "hit"
    assert again.json()["cached"] and again.json()["hits"] == first.json()["hits"]
    assert (cache.hits - hits, cache.misses - misses) == (1, 1)
    other = client.post("/search", json={"query": "shock waves in nozzles", "top_k": 5})
    assert other.headers["x-cache"] == "miss"


def test_ttl_lru_cache_unit() -> None:
    now = [0.0]
    cache: TTLCache[int] = TTLCache(2, ttl_s=10, clock=lambda: now[0])
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1
    cache.put("c", 3)  # evicts b, the least recently used
    assert cache.get("b") is None and cache.get("c") == 3
    now[0] = 10.0  # expired
    assert cache.get("a") is None and len(cache) == 1
    assert (cache.hits, cache.misses) == (2, 2)
    cache.clear()
    none: TTLCache[int] = TTLCache(0, ttl_s=1)
    none.put("a", 1)
    assert none.get("a") is None
    with pytest.raises(ValueError):
        TTLCache(1, ttl_s=0)
    assert normalise_request({"query": " A  b", "k": 1}) == normalise_request({"k": 1, "query": "a B"})


def find(client: httpx.Client, text: str, mode: str) -> list[str]:
    return [h["id"] for h in search(client, query=text, mode=mode, top_k=5)["hits"]]


def test_documents_are_added_updated_and_deleted_in_both_indexes(client: httpx.Client) -> None:
    doc = {"id": "new-1", "title": "Zorblax engines", "text": "zorblax propulsion of quantum gliders",
           "metadata": {"source": "user", "year": 2026}}
    added = client.post("/documents", json={"documents": [doc]})
    assert added.status_code == 200 and added.json() == {"upserted": 1, "ids": ["new-1"]}
    assert find(client, "zorblax propulsion", "bm25")[0] == "new-1"
    assert find(client, "zorblax propulsion of quantum gliders", "dense")[0] == "new-1"
    assert find(client, "zorblax", "hybrid")[0] == "new-1"
    only_user = search(client, query="propulsion", mode="hybrid", filter={"source": "user"})["hits"]
    assert [h["id"] for h in only_user] == ["new-1"] and only_user[0]["title"] == "Zorblax engines"
    updated = client.post("/documents", json={"documents": [{**doc, "text": "quixotic wombat aerodynamics"}]})
    assert updated.status_code == 200
    assert "new-1" not in find(client, "quantum gliders", "bm25")  # the old body is gone (the title stays)
    assert find(client, "quixotic wombat", "bm25")[0] == "new-1"
    deleted = client.delete("/documents/new-1")
    assert deleted.status_code == 200 and deleted.json() == {"deleted": "new-1"}
    assert "new-1" not in find(client, "quixotic wombat", "bm25")
    assert "new-1" not in find(client, "quixotic wombat aerodynamics", "dense")
    again = client.delete("/documents/new-1")
    assert again.status_code == 404 and again.json()["error_type"] == "not_found"


def fail(*args: object, **kwargs: object) -> None:
    raise RuntimeError("injected failure")


def test_writes_survive_a_warm_start(live: AppServer, tmp_path: Path) -> None:
    """What /documents writes (an update, an addition, a deletion) is on disk in both indexes: a restart reuses it."""
    shared = live.service.components
    assert shared is not None
    docs = [Document(f"d{i}", f"title {i}", f"wing flutter number {i} at supersonic speed") for i in range(6)]
    collection = Collection("tiny", docs, {"q1": "wing flutter"}, {"q1": {"d1": 1}})
    embedded: list[int] = []

    def embed(texts: Sequence[str]) -> np.ndarray:  # type: ignore[type-arg]
        embedded.append(len(texts))
        return shared.embedder.encoder.encode(list(texts))

    store = DocumentStore.open(collection, embed, shared.embedder.dimension, path=tmp_path / "index")
    written = [StoredDocument("d1", "title 1", "panel flutter of a heated plate", {"source": "api"}),
               StoredDocument("n1", "new", "boundary layer transition on a cone", {"source": "api"})]
    store.upsert(written, embed([d.text for d in written]))
    store.delete("d3")
    store.close()
    warm = DocumentStore.open(collection, embed, shared.embedder.dimension, path=tmp_path / "index")
    try:
        assert embedded == [6, 2]  # nothing embedded again: the indexes were reused, not rebuilt
        assert set(warm.metadata) == {"d0", "d1", "d2", "d4", "d5", "n1"}
        assert warm.bm25.num_docs == warm.vectors.count() == 6
        assert warm.bm25.texts(["d1", "d3", "n1"]) == {"d1": written[0].text, "n1": written[1].text}
        assert warm.metadata["n1"] == {"source": "api", "title": "new"}
    finally:
        warm.close()


def test_a_failing_side_leaves_nothing_half_indexed(client: httpx.Client, live: AppServer,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    components = live.service.components
    assert components is not None
    store = components.store
    base = {"id": "fragile", "title": "", "text": "xylophone turbulence"}
    assert client.post("/documents", json={"documents": [base]}).status_code == 200
    with monkeypatch.context() as patch:  # the vector side fails: BM25 must be put back
        patch.setattr(store.vectors, "upsert", fail)
        failed = client.post("/documents", json={"documents": [{**base, "text": "marmalade vortices"},
                                                              {"id": "brand-new", "text": "marmalade"}]})
        assert failed.status_code == 503 and failed.json()["error_type"] == "index_error"
        assert "both indexes restored" in failed.json()["error"]
    assert store.bm25.texts(["fragile", "brand-new"]) == {"fragile": "xylophone turbulence"}
    assert "brand-new" not in store and store.consistent
    with monkeypatch.context() as patch:  # the BM25 side fails: nothing at all changes
        patch.setattr(store.bm25, "replace", fail)
        failed = client.post("/documents", json={"documents": [{**base, "text": "marmalade"}]})
        assert failed.status_code == 503 and "nothing changed" in failed.json()["error"]
    assert find(client, "xylophone turbulence", "bm25")[0] == "fragile"
    with monkeypatch.context() as patch:  # a delete whose vector side fails keeps the document in both
        patch.setattr(store.vectors, "delete", fail)
        assert client.delete("/documents/fragile").status_code == 503
    assert find(client, "xylophone turbulence", "dense")[0] == "fragile"
    assert find(client, "xylophone turbulence", "bm25")[0] == "fragile"
    with monkeypatch.context() as patch:  # BM25 delete fails
        patch.setattr(store.bm25, "delete", fail)
        assert client.delete("/documents/fragile").status_code == 503
    assert "fragile" in store
    with monkeypatch.context() as patch:  # the undo fails too: the store says it is inconsistent
        patch.setattr(store.vectors, "upsert", fail)
        patch.setattr(store.bm25, "delete", fail)
        with pytest.raises(IndexWriteError, match="inconsistent"):
            store.upsert([StoredDocument("fragile", "", "other text")], components.embedder.embed(["other text"]))
        assert not store.consistent and client.get("/health").status_code == 503
        store.consistent = True
    assert client.delete("/documents/fragile").status_code == 200
    with pytest.raises(ValueError):
        store.upsert([], np.zeros((0, 384), dtype=np.float32))
    with pytest.raises(ValueError):
        store.upsert([StoredDocument("x", "", "y")], np.zeros((2, 384), dtype=np.float32))


@pytest.mark.parametrize("body", [
    {"query": ""}, {"query": "   "}, {"query": "x", "top_k": 0}, {"query": "x", "top_k": 5000},
    {"query": "x", "top_k": "5"}, {"query": "x", "mode": "fuzzy"}, {"query": "x", "fusion": "max"},
    {"query": "x", "filter": {"a": {"nested": 1}}}, {"query": "x", "filter": {"a.b": 1}},
    {"query": "x", "filter": {"a": 1.5}}, {"query": "x", "filter": {"a": []}}, {"query": "x", "filter": {"a": 2**70}},
    {"query": "x", "extra": True}, {"query": 7}, {},
])
def test_search_rejects_bad_requests(client: httpx.Client, body: dict[str, Any]) -> None:
    answer = client.post("/search", json=body)
    assert answer.status_code == 422 and answer.json()["error_type"] == "validation_error"


@pytest.mark.parametrize("body", [
    {"documents": []}, {"documents": [{"id": "a"}]}, {"documents": [{"id": "", "text": "t"}]},
    {"documents": [{"id": "a/b", "text": "t"}]}, {"documents": [{"id": "a", "text": "t", "metadata": {"title": 1}}]},
    {"documents": [{"id": "a", "text": "t"}, {"id": "a", "text": "u"}]},
    {"documents": [{"id": f"d{i}", "text": "t"} for i in range(33)]},
    {"documents": [{"id": "a", "text": "t", "metadata": {"x": [1]}}]},
    {"documents": [{"id": "a", "text": "t", "metadata": {"bad key": 1}}]},
])
def test_documents_reject_bad_requests(client: httpx.Client, body: dict[str, Any]) -> None:
    answer = client.post("/documents", json=body)
    assert answer.status_code == 422 and answer.json()["error_type"] == "validation_error"


def test_the_route_takes_its_components_from_a_dependency(live: AppServer) -> None:
    """``Ready`` is a FastAPI dependency: a test swaps the search engine without touching the service."""
    import dataclasses

    from c08_serving_ops.search.components import Components
    from c08_serving_ops.search.engine import SearchHit
    from c08_serving_ops.server.api import ready_components

    asked: list[dict[str, Any]] = []

    class FixedEngine:
        reranker = None

        def search(self, query: str, vector: Any, **options: Any) -> list[SearchHit]:
            asked.append({"query": query, "vector": vector is None, **options})
            return [SearchHit("stub-1", 0.5, "Stub", "<b>stub</b>", {"bm25": 1, "dense": None})]

    components = live.service.components
    assert components is not None
    stubbed = dataclasses.replace(components, engine=FixedEngine())
    assert isinstance(stubbed, Components)

    async def fixed() -> tuple[Any, Components]:
        return live.service, stubbed

    live.app.dependency_overrides[ready_components] = fixed
    try:
        with live.client() as client:
            answer = client.post("/search", json={"query": "dependency override probe", "mode": "bm25", "top_k": 4})
    finally:
        live.app.dependency_overrides.clear()
    assert answer.status_code == 200, answer.text
    assert [h["id"] for h in answer.json()["hits"]] == ["stub-1"]
    assert asked and asked[0]["query"] == "dependency override probe" and asked[0]["top_k"] == 4
    assert asked[0]["vector"] and asked[0]["mode"] == "bm25"  # bm25 needs no query vector


def test_query_tokenisation_runs_on_the_cpu_pool_not_the_loop(reranking: AppServer,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    threads = tokenize_threads(reranking.service.components, monkeypatch)
    with reranking.client() as client:
        assert client.post("/search", json={"query": "event loop stays free", "mode": "dense"}).status_code == 200
    assert len(threads) == 1 and threads[0].startswith("c08-cpu"), threads
