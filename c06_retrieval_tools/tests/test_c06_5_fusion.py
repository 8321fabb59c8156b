"""c06.5: reciprocal rank fusion and the convex combination of normalised scores, and the pipeline.

The nDCG@10 of both hybrids is measured on the BM25 and dense runs of c06.3 and c06.4 (candidate
depth 100 = 10 x k from each retriever), with the default, untuned settings: RRF constant 60,
equal weights, min-max normalisation with equal weights.
"""

from __future__ import annotations

import itertools
import math
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from c06_retrieval_tools import (
    CANDIDATE_FACTOR,
    FUSIONS,
    MODES,
    RRF_CONSTANT,
    Collection,
    MiniLMEncoder,
    RetrievalSystem,
    Run,
    convex_combination,
    evaluate_run,
    normalise,
    reciprocal_rank_fusion,
    top_k,
)

pytestmark = pytest.mark.task("c06.5")

K = 10
DEPTH = CANDIDATE_FACTOR * K


def fuse_runs(bm25_run: Run, dense_run: Run, method: str) -> Run:
    fused: Run = {}
    for qid in bm25_run:
        lists = [bm25_run[qid], dense_run[qid]]
        scores = reciprocal_rank_fusion(lists, depth=DEPTH) if method == "rrf" else convex_combination(
            lists, depth=DEPTH)
        fused[qid] = dict(top_k(scores, 100))
    return fused


def test_hybrid_rrf_ndcg_at_10(bm25_run: Run, dense_run: Run, cranfield: Collection, metric):
    metric("hybrid_rrf_ndcg_at_10", evaluate_run(fuse_runs(bm25_run, dense_run, "rrf"), cranfield.qrels)["ndcg@10"])


def test_hybrid_convex_ndcg_at_10(bm25_run: Run, dense_run: Run, cranfield: Collection, metric):
    run = fuse_runs(bm25_run, dense_run, "convex")
    metric("hybrid_convex_ndcg_at_10", evaluate_run(run, cranfield.qrels)["ndcg@10"])


def test_rrf_by_hand():
    bm25 = {"a": 9.0, "b": 7.0, "c": 1.0}
    dense = {"c": 0.9, "a": 0.5, "d": 0.1}
    fused = reciprocal_rank_fusion([bm25, dense])
    assert fused == pytest.approx({"a": 1 / 61 + 1 / 62, "b": 1 / 62, "c": 1 / 63 + 1 / 61, "d": 1 / 63})
    weighted = reciprocal_rank_fusion([bm25, dense], constant=0, weights=[2.0, 0.5])
    assert weighted == pytest.approx({"a": 2 + 0.25, "b": 1.0, "c": 2 / 3 + 0.5, "d": 0.5 / 3})
    assert reciprocal_rank_fusion([bm25, dense], depth=1) == pytest.approx({"a": 1 / 61, "c": 1 / 61})
    assert RRF_CONSTANT == 60 and reciprocal_rank_fusion([]) == {}


def test_normalisations():
    scores = {"a": 10.0, "b": 5.0, "c": 0.0}
    assert normalise(scores, "minmax") == {"a": 1.0, "b": 0.5, "c": 0.0}
    sigma = math.sqrt(50 / 3)
    z = normalise(scores, "zscore")
    assert z["b"] == pytest.approx(0.5) and z["a"] == pytest.approx((10 - (5 - 3 * sigma)) / (6 * sigma))
    assert normalise({"x": 3.0, "y": 3.0}, "minmax") == {"x": 1.0, "y": 1.0}
    assert normalise({"x": 3.0, "y": 3.0}, "zscore") == {"x": 0.5, "y": 0.5}
    assert normalise({}, "zscore") == {}
    with pytest.raises(ValueError, match="unknown normalisation 'l2'"):
        normalise(scores, "l2")  # type: ignore[arg-type]


def test_convex_combination_by_hand():
    bm25 = {"a": 10.0, "b": 5.0, "c": 0.0}
    dense = {"b": 0.8, "d": 0.4}
    fused = convex_combination([bm25, dense], weights=[3.0, 1.0])  # rescaled to 0.75, 0.25
    assert fused == pytest.approx({"a": 0.75, "b": 0.75 * 0.5 + 0.25, "c": 0.0, "d": 0.0})
    assert convex_combination([bm25, dense], depth=1) == pytest.approx({"a": 0.5, "b": 0.5})
    zscore = convex_combination([bm25, dense], method="zscore")
    assert set(zscore) == {"a", "b", "c", "d"}
    for weights, message in [([1.0], "1 weights for 2 ranked lists"), ([1.0, -1.0], "finite and >= 0"),
                             ([0.0, 0.0], "at least one weight must be positive"), ([math.nan, 1], "finite")]:
        with pytest.raises(ValueError, match=message):
            convex_combination([bm25, dense], weights=weights)
    with pytest.raises(ValueError, match="RRF constant must be >= 0"):
        reciprocal_rank_fusion([bm25], constant=-1)


def test_ties_are_broken_deterministically():
    bm25 = {f"d{i}": 1.0 for i in range(20)}  # every document tied
    dense = {f"d{i}": 0.5 for i in range(10, 30)}
    shuffled = list(bm25.items())
    random.Random(0).shuffle(shuffled)
    first = top_k(reciprocal_rank_fusion([bm25, dense]), 10)
    again = top_k(reciprocal_rank_fusion([dict(shuffled), dense]), 10)
    assert first == again
    assert top_k({"b": 1.0, "a": 1.0, "c": 1.0}, 3) == [("c", 1.0), ("b", 1.0), ("a", 1.0)]


ranked_lists = st.dictionaries(st.sampled_from([f"d{i}" for i in range(30)]), st.floats(-5, 5), min_size=1)


@settings(deadline=None, max_examples=60, derandomize=True, database=None)
@given(first=ranked_lists, second=ranked_lists)
def test_fusion_properties(first: dict[str, float], second: dict[str, float]):
    rrf = reciprocal_rank_fusion([first, second])
    assert set(rrf) == set(first) | set(second)
    assert all(0 < v <= 2 / (RRF_CONSTANT + 1) + 1e-15 for v in rrf.values())
    # fusing a list with itself keeps its order (up to ties)
    alone = [d for d, _ in top_k(reciprocal_rank_fusion([first, first]), len(first))]
    assert alone == [d for d, _ in top_k(first, len(first))]
    for method in ("minmax", "zscore"):
        convex = convex_combination([first, second], method=method)
        assert set(convex) == set(first) | set(second)
    assert all(-1e-12 <= v <= 1 + 1e-12 for v in convex_combination([first, second]).values())


@pytest.fixture(scope="module")
def small_system(cranfield: Collection, encoder: MiniLMEncoder, tmp_path_factory: pytest.TempPathFactory):
    collection = Collection("cran200", cranfield.documents[:200], cranfield.queries, cranfield.qrels)
    return RetrievalSystem(collection, tmp_path_factory.mktemp("system"), encoder)


def test_pipeline_modes(small_system: RetrievalSystem):
    query = "what are the effects of slip flow on heat transfer"
    assert MODES == ("bm25", "dense", "hybrid") and FUSIONS == ("rrf", "convex")  # the words of c08's /search
    for mode, fusion in itertools.product(MODES, FUSIONS):
        hits = small_system.search(query, 5, mode=mode, fusion=fusion)
        assert len(hits) == 5 and len({d for d, _ in hits}) == 5
        assert all(a[1] >= b[1] for a, b in itertools.pairwise(hits))
    found = small_system.candidates(query, 30)
    expected = top_k(reciprocal_rank_fusion([found.bm25, found.dense]), 3)
    got = small_system.search(query, top_k=3)  # the default: hybrid, fused by RRF
    assert got == small_system.search(query, 3, mode="hybrid", fusion="rrf")
    assert [d for d, _ in got] == [d for d, _ in expected]
    assert [s for _, s in got] == pytest.approx([s for _, s in expected])
    convex = small_system.search(query, 3, fusion="convex")
    assert [d for d, _ in convex] == [d for d, _ in top_k(convex_combination([found.bm25, found.dense]), 3)]
    weighted = small_system.search(query, 3, mode="hybrid", fusion="convex", weights=[0.0, 1.0])
    assert [d for d, _ in weighted] == [d for d, _ in small_system.search(query, 3, mode="dense")]
    with pytest.raises(ValueError, match="unknown mode 'rrf': use one of 'bm25', 'dense', 'hybrid'"):
        small_system.search(query, 5, mode="rrf")
    with pytest.raises(ValueError, match="unknown fusion 'max': use one of 'rrf', 'convex'"):
        small_system.search(query, 5, fusion="max")
    with pytest.raises(ValueError, match="top_k must be positive"):
        small_system.search(query, 0)


def test_pipeline_bad_queries(small_system: RetrievalSystem):
    for mode, fusion in itertools.product(MODES, FUSIONS):
        assert small_system.search("", 5, mode=mode, fusion=fusion) == []
    assert small_system.search("?!...", 5, mode="bm25") == []
    assert len(small_system.search("?!...", 5, mode="hybrid")) == 5  # the dense side embeds any text
    assert len(small_system.search("flow " * 20_000, 5, mode="hybrid")) == 5  # a 100 kB query


def test_pipeline_reuses_its_indexes(small_system: RetrievalSystem, encoder: MiniLMEncoder,
                                     monkeypatch: pytest.MonkeyPatch):
    def never(*args, **kwargs):
        raise AssertionError("nothing should be indexed again")

    monkeypatch.setattr("c06_retrieval_tools.bm25_tantivy.TantivyBM25.add", never)
    monkeypatch.setattr("c06_retrieval_tools.vector_store.QdrantStore.add", never)
    again = RetrievalSystem(small_system.collection, Path(small_system.workdir), encoder)
    assert again.search("shock", 3, mode="bm25") == small_system.search("shock", 3, mode="bm25")


def test_pipeline_rebuilds_a_stale_bm25_index(cranfield: Collection, encoder: MiniLMEncoder, tmp_path: Path):
    first = Collection("cran20", cranfield.documents[:20], cranfield.queries, cranfield.qrels)
    RetrievalSystem(first, tmp_path, encoder)
    grown = Collection("cran20", cranfield.documents[:30], cranfield.queries, cranfield.qrels)
    rebuilt = RetrievalSystem(grown, tmp_path, encoder)  # the index on disk holds 20: rebuilt, not reused
    assert rebuilt.bm25_index.num_docs == 30
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # nothing left behind
    new_doc = cranfield.documents[25]
    assert new_doc.doc_id in [d for d, _ in rebuilt.search(new_doc.title, 5, mode="bm25")]
