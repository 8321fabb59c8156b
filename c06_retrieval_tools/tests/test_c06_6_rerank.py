"""c06.6: features, the pairwise linear ranker, k-fold over queries, and the reranked nDCG@10.

The metric is measured the only honest way: each query is reranked by a model trained on the
other folds, never on itself (a test checks that with a spy). Candidates are the RRF fusion of
the c06.3 and c06.4 runs (100 from each retriever); the reranker reorders the top 30 and learns
from the top 100 of each training query.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from c06_retrieval_tools import (
    CANDIDATE_FACTOR,
    DEFAULT_RERANK_DEPTH,
    FEATURE_NAMES,
    TRAIN_DEPTH,
    Collection,
    FeatureExtractor,
    LinearRanker,
    MiniLMEncoder,
    QueryExamples,
    Run,
    cross_validated_rerank,
    evaluate_run,
    kfold,
    rank_feature,
    ranking,
    reciprocal_rank_fusion,
    rerank,
    term_features,
)

pytestmark = pytest.mark.task("c06.6")

DEPTH = CANDIDATE_FACTOR * 10


@pytest.fixture(scope="session")
def extractor(cranfield: Collection, doc_vectors: np.ndarray, encoder: MiniLMEncoder) -> FeatureExtractor:
    titles = encoder.encode([d.title for d in cranfield.documents])  # (1400, 384), cached on disk
    return FeatureExtractor(cranfield, doc_vectors, titles)


@pytest.fixture(scope="session")
def examples(cranfield: Collection, bm25_run: Run, dense_run: Run, query_vectors: np.ndarray,
             extractor: FeatureExtractor) -> list[QueryExamples]:
    out = []
    for (qid, text), vector in zip(cranfield.queries.items(), query_vectors, strict=True):
        fused = reciprocal_rank_fusion([bm25_run[qid], dense_run[qid]], depth=DEPTH)
        order = ranking(fused)
        rows = extractor.extract(text, vector, order[:TRAIN_DEPTH], bm25_run[qid], dense_run[qid], fused)
        out.append(QueryExamples(qid, order, rows, fused))
    return out


def test_rerank_ndcg_at_10(examples: list[QueryExamples], cranfield: Collection, metric):
    run, models = cross_validated_rerank(examples, cranfield.qrels)
    assert len(models) == 5 and set(run) == set(cranfield.queries)
    fused = {e.query_id: e.fused for e in examples}
    for qid, scores in run.items():  # only the order of the top K' changed
        assert ranking(scores)[DEFAULT_RERANK_DEPTH:] == ranking(fused[qid])[DEFAULT_RERANK_DEPTH:]
        assert set(ranking(scores)[:DEFAULT_RERANK_DEPTH]) == set(ranking(fused[qid])[:DEFAULT_RERANK_DEPTH])
    metric("rerank_ndcg_at_10", evaluate_run(run, cranfield.qrels)["ndcg@10"])


def test_no_query_is_reranked_by_a_model_that_saw_it(examples: list[QueryExamples], cranfield: Collection):
    trained_on: list[list[np.ndarray]] = []

    class Spy(LinearRanker):
        def fit(self, features, gains):
            trained_on.append(list(features))
            return super().fit(features, gains)

    subset = examples[:40]
    cross_validated_rerank(subset, cranfield.qrels, n_folds=4, ranker_factory=Spy)
    folds = kfold([e.query_id for e in subset], 4)
    by_id = {e.query_id: e for e in subset}
    for fold, seen in zip(folds, trained_on, strict=True):
        assert len(seen) == len(subset) - len(fold)
        for qid in fold:
            assert not any(np.shares_memory(matrix, by_id[qid].features) for matrix in seen)


def test_feature_rows(examples: list[QueryExamples], extractor: FeatureExtractor, cranfield: Collection,
                      bm25_run: Run):
    example = examples[0]
    assert example.features.shape == (TRAIN_DEPTH, len(FEATURE_NAMES))
    assert np.all(np.isfinite(example.features))
    column = dict(zip(FEATURE_NAMES, example.features.T, strict=True))
    assert column["rrf"].max() <= 1.0 and column["bm25"].max() <= 1.0 + 1e-9
    best_bm25 = max(bm25_run["1"].values())
    for doc_id, value in zip(example.candidates, column["bm25"], strict=False):
        if doc_id in bm25_run["1"]:
            assert value * best_bm25 == pytest.approx(bm25_run["1"][doc_id], abs=1e-4)
    assert np.all((column["coverage"] >= 0) & (column["coverage"] <= 1))
    with pytest.raises(ValueError, match="one document vector and one title vector per document"):
        FeatureExtractor(cranfield, extractor.doc_vectors[:3].astype(np.float32),
                         extractor.title_vectors[:3].astype(np.float32))


def test_term_features_by_hand():
    idf = {"shock": 2.0, "wave": 1.0, "drag": 3.0}
    doc = ["shock", "wave", "theori", "drag", "x", "shock", "wave"]
    bigrams, coverage, idf_coverage, proximity = term_features(["shock", "wave", "lift"], doc, idf)
    assert bigrams == pytest.approx(math.log1p(2)) and coverage == pytest.approx(2 / 3)
    assert idf_coverage == pytest.approx(1.0) and proximity == pytest.approx(0.5)
    assert term_features([], doc, idf) == [0.0, 0.0, 0.0, 0.0]
    assert term_features(["lift"], doc, idf) == [0.0, 0.0, 0.0, 0.0]
    assert rank_feature({"a": 2.0, "b": 3.0}) == pytest.approx({"b": 1.0, "a": 1 / math.log2(3)})


def test_ranker_learns_a_separable_order():
    rng = np.random.default_rng(0)
    truth = np.array([2.0, -1.0, 0.0, 0.5])
    features, gains = [], []
    for _ in range(30):
        x = rng.standard_normal((12, 4)) * [1.0, 10.0, 1.0, 0.1]  # scales differ a lot
        features.append(x)
        gains.append(np.digitize(x @ truth, [-1.0, 1.0, 3.0]).astype(float))
    model = LinearRanker(steps=500).fit(features, gains)
    test = rng.standard_normal((200, 4)) * [1.0, 10.0, 1.0, 0.1]
    agreement = np.corrcoef(model.score(test), test @ truth)[0, 1]
    assert agreement > 0.95
    np.testing.assert_array_equal(LinearRanker(steps=500).fit(features, gains).weights, model.weights)


def test_ranker_errors():
    with pytest.raises(RuntimeError, match="call fit"):
        LinearRanker().score(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="no training pair"):
        LinearRanker().fit([np.zeros((3, 2))], [np.zeros(3)])
    with pytest.raises(ValueError, match="one gain vector per feature matrix"):
        LinearRanker().fit([np.zeros((3, 2))], [])
    model = LinearRanker().fit([np.eye(2)], [np.array([1.0, 0.0])])
    with pytest.raises(ValueError, match=r"expected \(n, 2\) features"):
        model.score(np.zeros((3, 5)))


def test_rerank_reorders_only_the_head():
    example = QueryExamples("q", ["a", "b", "c", "d"], np.array([[0.0], [1.0], [2.0], [3.0]]),
                            {"a": 4.0, "b": 3.0, "c": 2.0, "d": 1.0})
    model = LinearRanker().fit([np.array([[0.0], [1.0]])], [np.array([0.0, 1.0])])  # learns: higher x is better
    assert ranking(rerank(example, model, 3)) == ["c", "b", "a", "d"]
    assert ranking(rerank(example, model, 0)) == ["a", "b", "c", "d"]
    with pytest.raises(ValueError, match="rerank depth must be >= 0"):
        rerank(example, model, -1)
    with pytest.raises(ValueError, match="4 feature rows for 5 candidates to rerank"):
        rerank(QueryExamples("q", [*example.candidates, "e"], example.features, example.fused), model, 5)


def test_kfold():
    ids = [str(i) for i in range(23)]
    folds = kfold(ids, 5)
    assert sorted(i for fold in folds for i in fold) == sorted(ids)
    assert [len(f) for f in folds] == [5, 5, 5, 4, 4]
    assert folds == kfold(ids, 5) and folds != kfold(ids, 5, seed=1)
    for bad in (1, 24):
        with pytest.raises(ValueError, match="need 2 <= n_folds <= 23"):
            kfold(ids, bad)
