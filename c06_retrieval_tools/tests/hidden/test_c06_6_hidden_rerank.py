"""c06.6 (hidden): the ranker's invariances and k-fold edge cases."""

from __future__ import annotations

import numpy as np
import pytest

from c06_retrieval_tools import LinearRanker, QueryExamples, cross_validated_rerank, kfold, ranking

pytestmark = pytest.mark.task("c06.6")


def make_examples(n_queries: int, seed: int = 0) -> tuple[list[QueryExamples], dict[str, dict[str, int]]]:
    rng = np.random.default_rng(seed)
    examples, qrels = [], {}
    for q in range(n_queries):
        qid = f"q{q}"
        x = rng.standard_normal((8, 3))
        gains = (x[:, 0] > 0.5).astype(int) + (x[:, 0] > 1.2).astype(int)
        docs = [f"{qid}-d{i}" for i in range(8)]
        fused = {d: float(8 - i) for i, d in enumerate(docs)}
        examples.append(QueryExamples(qid, docs, x, fused))
        qrels[qid] = {d: int(g) for d, g in zip(docs, gains, strict=True)}
    return examples, qrels


def test_reranking_learns_the_useful_feature():
    examples, qrels = make_examples(40)
    run, models = cross_validated_rerank(examples, qrels, depth=8, n_folds=4)
    for model in models:
        assert model.weights is not None and abs(model.weights[0]) > 3 * np.abs(model.weights[1:]).max()
    right = sum(ranking(run[e.query_id])[0] == e.candidates[int(np.argmax(e.features[:, 0]))] for e in examples)
    assert right >= 0.9 * len(examples)


def test_positive_scaling_of_a_feature_does_not_change_the_order():
    examples, qrels = make_examples(20, seed=1)
    gains = [np.array([qrels[e.query_id][d] for d in e.candidates], float) for e in examples]
    base = LinearRanker().fit([e.features for e in examples], gains)
    scaled = LinearRanker().fit([e.features * [100.0, 1.0, 0.01] for e in examples], gains)
    probe = examples[0].features
    assert np.argsort(-base.score(probe)).tolist() == np.argsort(-scaled.score(probe * [100.0, 1.0, 0.01])).tolist()


def test_kfold_with_as_many_folds_as_queries():
    folds = kfold(["a", "b", "c"], 3)
    assert sorted(len(f) for f in folds) == [1, 1, 1]
