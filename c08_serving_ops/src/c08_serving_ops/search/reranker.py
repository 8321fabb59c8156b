"""The learned reranker of c06, trained once at start-up and applied per request.

c06 trains a pairwise linear ranker over features of (query, candidate) pairs and
evaluates it by k-fold over the Cranfield queries. A server trains one model on the
first ``n_queries`` judged queries of its collection (a second or two) and uses it
for every request that asks for ``"rerank": true``: the top ``depth`` fused candidates
are reordered, the rest keep their fused order.

The features describe documents *of the collection the model was trained on*; a
document added later through ``/documents`` has no feature row, so it keeps its fused
position below the reranked head (the README says so).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from c06_retrieval_tools import (
    Collection,
    FeatureExtractor,
    LinearRanker,
    QueryExamples,
    reciprocal_rank_fusion,
    rerank,
)
from c06_retrieval_tools.fusion import Scores
from c06_retrieval_tools.trec import ranking

FloatMatrix = NDArray[np.float32]
TRAIN_DEPTH = 30  # candidates per training query
# (query, vector, depth) -> (bm25 scores, dense scores) of the top depth of each retriever
Retrieve = Callable[[str, NDArray[np.float32], int], tuple[Scores, Scores]]


class Reranker:
    """A c06 :class:`LinearRanker` with the feature extractor it was trained with."""

    def __init__(self, collection: Collection, doc_vectors: FloatMatrix, title_vectors: FloatMatrix) -> None:
        self.extractor = FeatureExtractor(collection, doc_vectors, title_vectors)
        self.known = set(collection.doc_ids)
        self.ranker = LinearRanker()

    def train(self, queries: list[tuple[str, dict[str, int]]], query_vectors: FloatMatrix,
              retrieve: Retrieve) -> Reranker:
        """Fit on (query text, judgments) pairs with their (n, d) vectors."""
        # BEGIN SOLUTION c08.5: candidates of each query (RRF order), features, gains; fit the ranker
        features, gains = [], []
        for (query, qrels), vector in zip(queries, query_vectors, strict=True):
            bm25, dense = retrieve(query, vector, TRAIN_DEPTH)
            fused = reciprocal_rank_fusion([bm25, dense])
            candidates = [d for d in ranking(fused) if d in self.known]
            features.append(self.extractor.extract(query, vector, candidates, bm25, dense, fused))
            gains.append(np.array([qrels.get(d, 0) for d in candidates], dtype=np.float64))
        self.ranker.fit(features, gains)
        return self
        # END SOLUTION

    def apply(self, query: str, vector: NDArray[np.float32], bm25: Scores, dense: Scores, fused: Scores,
              depth: int) -> Scores:
        """New scores: the known candidates of the top ``depth`` reordered, every other after them."""
        # BEGIN SOLUTION c08.5: known head reranked by c06's rerank(); unknown and tail keep fused order
        order = ranking(fused)
        head = [d for d in order[:depth] if d in self.known]
        rest = [d for d in order if d not in set(head)]
        example = QueryExamples("request", head + rest,
                                self.extractor.extract(query, vector, head, bm25, dense, fused), fused)
        return rerank(example, self.ranker, len(head))
        # END SOLUTION
