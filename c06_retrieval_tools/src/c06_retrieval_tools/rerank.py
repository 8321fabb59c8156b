"""Reranking the top K′ with a learned linear ranker, trained and evaluated by k-fold over queries.

**Which reranker, and why.** Nothing stronger than MiniLM is available offline,
so a cross-encoder is out. Two candidates were measured on Cranfield
(README, "Reranking"): late interaction (ColBERT-style MaxSim over MiniLM's token
vectors) and a learned ranker over features. MaxSim *lowered* nDCG@10 below plain
RRF: MiniLM was trained so that the *mean* of its token vectors is meaningful, not
each token vector on its own. A learned ranker over cheap, complementary
evidence (:mod:`~c06_retrieval_tools.features`: BM25, dense and fused scores,
ranks, title matches, term proximity, pseudo-relevance feedback) lifts nDCG@10
by about 0.015, so that is the reranker here.

**The model** is linear, ``score(x) = w · x``, trained *pairwise* (RankNet with a
linear scorer): for two candidates of the same query with gains g_i > g_j, the
loss is ``log(1 + exp(-(w·x_i - w·x_j)))``, weighted by ``2^g_i - 2^g_j`` so that
the pairs nDCG cares about most count most. Features are scaled by the standard
deviation of the pair differences; full-batch gradient descent with a fixed
number of steps and L2 makes training deterministic.

**Honest evaluation.** A model must never be scored on queries it was trained
on. :func:`kfold` splits the queries into folds; each fold is reranked by a
model trained on the other folds only, so every query's result comes from a
model that never saw it. The same holds for anything tuned (K, K′).

Reranking changes only the order of the top K′ of the fused list; the rest keep
their fused order below them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from c06_retrieval_tools.collection import Qrels, Run
from c06_retrieval_tools.fusion import Scores

FloatMatrix = NDArray[np.float64]
N_FOLDS = 5
DEFAULT_RERANK_DEPTH = 30  # K′: candidates the reranker reorders
TRAIN_DEPTH = 100  # candidates per training query the ranker learns from


@dataclass
class QueryExamples:
    """One query's candidates (fused order), their feature rows and the fused scores."""

    query_id: str
    candidates: list[str]  # fused order, best first
    features: FloatMatrix  # (n_candidates, n_features)
    fused: Scores


class LinearRanker:
    """A linear scoring function learned from pairwise preferences (see the module docstring).

    Args:
        l2: weight decay on the (scaled) weights.
        steps: full-batch gradient steps.
        learning_rate: step size on the scaled problem.
    """

    def __init__(self, l2: float = 1e-3, steps: int = 300, learning_rate: float = 0.5) -> None:
        self.l2, self.steps, self.learning_rate = l2, steps, learning_rate
        self.weights: NDArray[np.float64] | None = None

    @staticmethod
    def pairs(features: FloatMatrix, gains: NDArray[np.float64]) -> tuple[FloatMatrix, NDArray[np.float64]]:
        """Differences x_i - x_j for every pair with g_i > g_j, and their weights 2^g_i - 2^g_j."""
        better, worse = np.nonzero(gains[:, None] > gains[None, :])
        return features[better] - features[worse], 2.0 ** gains[better] - 2.0 ** gains[worse]

    def fit(self, features: Sequence[FloatMatrix], gains: Sequence[NDArray[np.float64]]) -> LinearRanker:
        """Learn from one (n_i, n_features) matrix and (n_i,) gain vector per training query.

        Raises:
            ValueError: no query has two candidates of different gain (nothing to learn from).
        """
        # BEGIN SOLUTION c06.6: stack pairs; scale by their std; descend the weighted logistic loss
        if len(features) != len(gains):
            raise ValueError("one gain vector per feature matrix")
        built = [self.pairs(x, np.asarray(g, dtype=np.float64)) for x, g in zip(features, gains, strict=True)]
        built = [(d, w) for d, w in built if len(w)]
        if not built:
            raise ValueError("no training pair: every query's candidates have equal gains")
        diffs = np.vstack([d for d, _ in built])  # (n_pairs, n_features)
        weights = np.concatenate([w for _, w in built])  # (n_pairs,)
        weights = weights / weights.mean()
        scale = diffs.std(axis=0) + 1e-9  # (n_features,)
        # (n_features, n_pairs) in float32: each step is two BLAS products over ~10^5 pairs, 5x faster than
        # float64 and plenty for a gradient.
        scaled_t = np.ascontiguousarray((diffs / scale).T, dtype=np.float32)
        weights32 = weights.astype(np.float32)
        w = np.zeros(scaled_t.shape[0], dtype=np.float32)
        for _ in range(self.steps):
            margin = w @ scaled_t  # (n_pairs,)
            pull = weights32 / (1.0 + np.exp(np.clip(margin, -50, 50)))  # -d loss / d margin
            gradient = -(scaled_t @ pull) / len(pull) + self.l2 * w
            w -= self.learning_rate * gradient
        self.weights = w.astype(np.float64) / scale  # back to the unscaled features
        return self
        # END SOLUTION

    def score(self, features: FloatMatrix) -> NDArray[np.float64]:
        """(n,) scores of (n, n_features) rows; higher is better."""
        if self.weights is None:
            raise RuntimeError("call fit() before score()")
        if features.ndim != 2 or features.shape[1] != len(self.weights):
            raise ValueError(f"expected (n, {len(self.weights)}) features, got {features.shape}")
        return np.asarray(features @ self.weights, dtype=np.float64)


def rerank(example: QueryExamples, ranker: LinearRanker, depth: int) -> Scores:
    """The top ``depth`` candidates reordered by ``ranker``, the rest after them in fused order.

    ``example.features`` needs a row for each of the top ``depth`` candidates (more rows are ignored).
    """
    # BEGIN SOLUTION c06.6: score the top depth; give them ranks above every other candidate
    if depth < 0:
        raise ValueError(f"the rerank depth must be >= 0, got {depth}")
    head = example.candidates[:depth]
    if len(example.features) < len(head):
        raise ValueError(f"{len(example.features)} feature rows for {len(head)} candidates to rerank")
    scores = ranker.score(example.features[: len(head)]) if head else np.zeros(0)
    order = sorted(range(len(head)), key=lambda i: (-scores[i], i))  # ties keep the fused order
    n = len(example.candidates)
    out = {head[i]: float(2 * n - rank) for rank, i in enumerate(order)}
    out.update({d: float(n - rank) for rank, d in enumerate(example.candidates[len(head):], start=len(head))})
    return out
    # END SOLUTION


def kfold(query_ids: Sequence[str], n_folds: int = N_FOLDS, seed: int = 0) -> list[list[str]]:
    """Disjoint folds that cover every query once (a seeded shuffle, then round robin)."""
    # BEGIN SOLUTION c06.6: validate; permute with a seeded generator; deal the queries round robin
    if not 2 <= n_folds <= len(query_ids):
        raise ValueError(f"need 2 <= n_folds <= {len(query_ids)} queries, got {n_folds}")
    order = np.random.default_rng(seed).permutation(len(query_ids))
    return [[query_ids[i] for i in order[fold::n_folds]] for fold in range(n_folds)]
    # END SOLUTION


def gains_of(example: QueryExamples, qrels: Qrels, depth: int) -> NDArray[np.float64]:
    """(n,) gains of the first ``depth`` candidates that have feature rows (unjudged: 0)."""
    judged = qrels.get(example.query_id, {})
    n = min(depth, len(example.features))
    return np.array([max(judged.get(d, 0), 0) for d in example.candidates[:n]], dtype=np.float64)


def cross_validated_rerank(examples: Sequence[QueryExamples], qrels: Qrels, depth: int = DEFAULT_RERANK_DEPTH,
                           n_folds: int = N_FOLDS, seed: int = 0, train_depth: int = TRAIN_DEPTH,
                           ranker_factory: type[LinearRanker] = LinearRanker) -> tuple[Run, list[LinearRanker]]:
    """Rerank the top ``depth`` of every query with a model trained on the other folds only.

    Training uses the top ``train_depth`` candidates of each training query that have feature rows
    (more pairs than the K′ reranked: a better model, at training time only).

    Returns:
        the reranked run, and the model of each fold (in fold order).
    """
    # BEGIN SOLUTION c06.6: per fold: train on the other folds (train_depth rows), rerank this fold
    by_id = {e.query_id: e for e in examples}
    run: Run = {}
    models = []
    for fold in kfold(list(by_id), n_folds, seed):
        held_out = set(fold)
        train = [e for e in examples if e.query_id not in held_out]
        model = ranker_factory().fit([e.features[:train_depth] for e in train],
                                     [gains_of(e, qrels, train_depth) for e in train])
        models.append(model)
        for query_id in fold:
            run[query_id] = rerank(by_id[query_id], model, depth)
    return run, models
    # END SOLUTION
