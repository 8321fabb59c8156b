"""Hybrid fusion: combine the ranked lists of BM25 and dense retrieval into one.

Lexical and dense retrieval fail differently (BM25 misses paraphrases, dense
misses rare exact terms and numbers), so their combination beats both. Their
scores live on different scales (BM25: 0 to ~30, unbounded; cosine: -1 to 1),
so they cannot just be added. Two fixes:

* **Reciprocal rank fusion** (Cormack, Clarke and Büttcher, SIGIR 2009) throws
  the scores away and keeps the ranks::

      rrf(d) = sum over retrievers r of  w_r / (c + rank_r(d))

  The constant c (60 in the paper) flattens the head of each list, so one
  retriever's first place cannot outvote agreement lower down. A document a
  retriever did not return contributes nothing for it.
* **Convex combination** of normalised scores: ``sum_r w_r * norm_r(d)`` with the
  weights summing to 1. Normalisation maps each list to about [0, 1]:
  *min-max* ``(s - min) / (max - min)``, sensitive to the single best and worst
  score; or *mean ± 3σ* ``(s - (μ - 3σ)) / 6σ`` (Qdrant's distribution-based
  fusion), which depends on the whole distribution. A document missing from a
  list gets 0 for that list.

Each retriever contributes its top ``depth`` documents: about 10 × the k the
user asked for, so a document ranked 40th by one retriever and 3rd by the other
can still surface. Ties in the fused score are broken by doc id
(:func:`~c06_retrieval_tools.trec.ranking`), so the order never depends on dict
or thread order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from c06_retrieval_tools.trec import ranking

Scores = dict[str, float]  # doc id -> score, for one query
RRF_CONSTANT = 60
CANDIDATE_FACTOR = 10  # candidates taken from each retriever per result the user asked for
Normalisation = Literal["minmax", "zscore"]


def _check_weights(n_lists: int, weights: Sequence[float] | None) -> list[float]:
    if weights is None:
        return [1.0] * n_lists
    if len(weights) != n_lists:
        raise ValueError(f"{len(weights)} weights for {n_lists} ranked lists")
    if any(not math.isfinite(w) or w < 0 for w in weights):
        raise ValueError(f"weights must be finite and >= 0, got {list(weights)}")
    return [float(w) for w in weights]


def reciprocal_rank_fusion(lists: Sequence[Scores], constant: float = RRF_CONSTANT,
                           weights: Sequence[float] | None = None, depth: int | None = None) -> Scores:
    """Fuse ranked lists by ``sum_r w_r / (constant + rank_r(d))`` over each list's top ``depth``."""
    # BEGIN SOLUTION c06.5: validate; rank each list (trec order), cut at depth; add w / (c + rank)
    if constant < 0:
        raise ValueError(f"the RRF constant must be >= 0, got {constant}")
    fused: Scores = {}
    for scores, weight in zip(lists, _check_weights(len(lists), weights), strict=True):
        for rank, doc_id in enumerate(ranking(scores, depth), start=1):
            fused[doc_id] = fused.get(doc_id, 0.0) + weight / (constant + rank)
    return fused
    # END SOLUTION


def normalise(scores: Scores, method: Normalisation = "minmax") -> Scores:
    """Scores mapped to about [0, 1]: ``"minmax"`` or ``"zscore"`` (mean ± 3σ).

    A list whose scores are all equal maps to 1.0 (minmax) or 0.5 (zscore): nothing separates them.
    """
    # BEGIN SOLUTION c06.5: min-max, or (s - (mu - 3 sigma)) / (6 sigma); handle the constant list
    if not scores:
        return {}
    values = list(scores.values())
    if method == "minmax":
        low, high = min(values), max(values)
        if high == low:
            return dict.fromkeys(scores, 1.0)
        return {d: (s - low) / (high - low) for d, s in scores.items()}
    if method == "zscore":
        mean = sum(values) / len(values)
        sigma = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
        if sigma == 0:
            return dict.fromkeys(scores, 0.5)
        return {d: (s - (mean - 3 * sigma)) / (6 * sigma) for d, s in scores.items()}
    raise ValueError(f"unknown normalisation {method!r}: use 'minmax' or 'zscore'")
    # END SOLUTION


def convex_combination(lists: Sequence[Scores], weights: Sequence[float] | None = None,
                       method: Normalisation = "minmax", depth: int | None = None) -> Scores:
    """``sum_r w_r * normalise(top depth of list r)(d)``, weights rescaled to sum to 1."""
    # BEGIN SOLUTION c06.5: weights sum to 1; normalise each list's top depth; weighted sum, missing = 0
    raw = _check_weights(len(lists), weights)
    total = sum(raw)
    if total <= 0:
        raise ValueError("at least one weight must be positive")
    fused: Scores = {}
    for scores, weight in zip(lists, raw, strict=True):
        top = {d: scores[d] for d in ranking(scores, depth)}
        for doc_id, value in normalise(top, method).items():
            fused[doc_id] = fused.get(doc_id, 0.0) + weight / total * value
    return fused
    # END SOLUTION


def top_k(scores: Scores, k: int) -> list[tuple[str, float]]:
    """The ``k`` best (doc id, score) pairs, ties by doc id descending."""
    return [(d, scores[d]) for d in ranking(scores, k)]
