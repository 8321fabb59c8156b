"""Features of (query, candidate document) pairs for the learned reranker.

A reranker looks again at the few candidates fusion put on top, with evidence
that would be too slow to compute for every document. Each candidate becomes a
row of numbers; :mod:`~c06_retrieval_tools.rerank` learns how to weigh them.

=================  =================================================================
``bm25``           exact BM25 (the scratch model, = tantivy) / the best BM25 of the query
``dense``          cosine of query and document vectors (also for docs outside the dense list)
``rrf``            the fused RRF score, rescaled so the best possible is 1
``bm25_rank``      1 / log2(1 + rank) in the BM25 list, 0 if absent
``dense_rank``     the same in the dense list
``title_bm25``     BM25 of the query against the title alone / the best BM25 of the query
``doc_length``     log(1 + tokens) / 6: long abstracts match more terms by chance
``bigrams``        log(1 + occurrences of adjacent query-term pairs in the document)
``coverage``       share of the query's distinct terms found in the document
``idf_coverage``   the same, each term weighted by its idf (rare terms matter more)
``proximity``      1 / (1 + smallest distance between two different query terms)
``title_dense``    cosine of the query vector and the title's vector
``prf_dense``      cosine with the query vector moved towards the top 3 dense documents
                   (Rocchio pseudo-relevance feedback, weight 0.5)
=================  =================================================================

Everything a feature needs about the documents (token positions, both BM25
models, document and title vectors) is computed once, in the constructor.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from c06_retrieval_tools.bm25_scratch import ScratchBM25
from c06_retrieval_tools.collection import Collection, Document
from c06_retrieval_tools.fusion import RRF_CONSTANT, Scores
from c06_retrieval_tools.trec import ranking

FEATURE_NAMES = (
    "bm25", "dense", "rrf", "bm25_rank", "dense_rank", "title_bm25", "doc_length",
    "bigrams", "coverage", "idf_coverage", "proximity", "title_dense", "prf_dense",
)
PRF_DOCS = 3
PRF_WEIGHT = 0.5
FloatMatrix = NDArray[np.float64]


def rank_feature(scores: Scores) -> dict[str, float]:
    """doc id -> 1 / log2(1 + rank) in one retriever's list."""
    return {doc_id: 1.0 / math.log2(1 + rank) for rank, doc_id in enumerate(ranking(scores), start=1)}


def term_features(query_terms: Sequence[str], doc_terms: Sequence[str], idf: dict[str, float]) -> list[float]:
    """``bigrams``, ``coverage``, ``idf_coverage`` and ``proximity`` of one document's analysed terms."""
    # BEGIN SOLUTION c06.6: positions of query terms; adjacent query pairs; (idf-weighted) coverage; min gap
    wanted = set(query_terms)
    if not wanted:
        return [0.0, 0.0, 0.0, 0.0]
    pairs = set(itertools.pairwise(query_terms))
    bigrams = sum(1 for pair in itertools.pairwise(doc_terms) if pair in pairs)
    hits = [(position, term) for position, term in enumerate(doc_terms) if term in wanted]
    found = {term for _, term in hits}
    total_idf = sum(idf.get(t, 0.0) for t in wanted)
    idf_coverage = sum(idf.get(t, 0.0) for t in found) / total_idf if total_idf > 0 else 0.0
    gaps = [b - a for (a, ta), (b, tb) in itertools.pairwise(hits) if ta != tb]
    proximity = 1.0 / (1 + min(gaps)) if gaps else 0.0
    return [math.log1p(bigrams), len(found) / len(wanted), idf_coverage, proximity]
    # END SOLUTION


class FeatureExtractor:
    """Turns (query, candidates) into a (n_candidates, len(FEATURE_NAMES)) matrix.

    Args:
        collection: the indexed documents.
        doc_vectors: (n_docs, d) unit vectors of the documents' text, in collection order.
        title_vectors: (n_docs, d) unit vectors of the titles.
    """

    def __init__(self, collection: Collection, doc_vectors: NDArray[np.float32],
                 title_vectors: NDArray[np.float32]) -> None:
        if doc_vectors.shape != title_vectors.shape or len(doc_vectors) != len(collection):
            raise ValueError("need one document vector and one title vector per document")
        self.collection = collection
        self.doc_vectors = doc_vectors.astype(np.float64)  # (n_docs, d)
        self.title_vectors = title_vectors.astype(np.float64)  # (n_docs, d)
        self.body = ScratchBM25().fit(collection.documents)
        self.title = ScratchBM25().fit([Document(d.doc_id, "", d.title) for d in collection.documents])
        self.analyzer = self.body.analyzer
        self.doc_terms = [self.analyzer.analyze(doc.text) for doc in collection.documents]
        self.idf = {term: float(self.body.idf[col]) for term, col in self.body.vocabulary.items()}

    def extract(self, query: str, query_vector: NDArray[np.float32], candidates: Sequence[str],
                bm25: Scores, dense: Scores, fused: Scores) -> FloatMatrix:
        """One row per candidate, columns in ``FEATURE_NAMES`` order."""
        # BEGIN SOLUTION c06.6: per-query quantities once (BM25 of all docs, cosines, PRF vector), then rows
        rows = [self.collection.position(d) for d in candidates]
        q = query_vector.astype(np.float64)  # (d,)
        body_scores = self.body.scores(query)  # (n_docs,)
        best_bm25 = max(float(body_scores.max(initial=0.0)), 1e-9)
        title_scores = self.title.scores(query) / best_bm25
        cosines = self.doc_vectors @ q  # (n_docs,)
        top_dense = [self.collection.position(d) for d in ranking(dense, PRF_DOCS)]
        feedback = q + PRF_WEIGHT * self.doc_vectors[top_dense].mean(axis=0) if top_dense else q
        prf = self.doc_vectors @ (feedback / max(float(np.linalg.norm(feedback)), 1e-12))
        bm25_rank, dense_rank = rank_feature(bm25), rank_feature(dense)
        query_terms = self.analyzer.analyze(query)
        best_rrf = 2.0 / (RRF_CONSTANT + 1)  # first in both lists
        matrix = np.zeros((len(candidates), len(FEATURE_NAMES)))  # (n_candidates, n_features)
        for i, (doc_id, row) in enumerate(zip(candidates, rows, strict=True)):
            matrix[i] = [
                body_scores[row] / best_bm25, cosines[row], fused.get(doc_id, 0.0) / best_rrf,
                bm25_rank.get(doc_id, 0.0), dense_rank.get(doc_id, 0.0), title_scores[row],
                math.log1p(len(self.doc_terms[row])) / 6,
                *term_features(query_terms, self.doc_terms[row], self.idf),
                float(self.title_vectors[row] @ q), prf[row],
            ]
        return matrix
        # END SOLUTION
