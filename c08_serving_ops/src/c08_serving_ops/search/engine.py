"""/search over the document store: BM25, dense or hybrid, fused, optionally reranked, filtered, cached.

The request names a ``mode`` (``bm25``, ``dense``, ``hybrid``), a ``fusion`` for hybrid
(c06's weighted reciprocal rank fusion or convex combination of normalised scores), a
``filter`` on document metadata and ``rerank``. The answer lists hits with their
score, a highlighted snippet (tantivy's), and each retriever's rank of the hit, so a
user can see *why* a document came first.

A filter must restrict both retrievers alike: Qdrant filters the dense side itself;
the BM25 side is searched deep (every document) and filtered by the metadata map.
Hybrid takes ``CANDIDATE_FACTOR * top_k`` candidates from each side, as in c06.

The query vector is computed by the caller (through the batcher), so this class
only touches the indexes; it runs in a worker thread, not on the event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from c06_retrieval_tools import CANDIDATE_FACTOR, convex_combination, reciprocal_rank_fusion
from c06_retrieval_tools import top_k as highest_scores
from c06_retrieval_tools.fusion import Scores
from c06_retrieval_tools.trec import ranking
from c08_serving_ops.search.documents import DocumentStore, matches
from c08_serving_ops.search.reranker import Reranker

Mode = Literal["bm25", "dense", "hybrid"]
Fusion = Literal["rrf", "convex"]
SpanFn = Callable[[str], Any]  # name -> a context manager (a tracing span)


@dataclass(frozen=True)
class SearchHit:
    """One ranked document as /search returns it (c06's ``Hit`` is the bare (doc id, score) pair)."""

    id: str
    score: float
    title: str
    snippet: str  # HTML: the matches inside <b>...</b>
    ranks: dict[str, int | None]  # rank (1 = first) in each retriever's list, None if absent

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _NoSpan:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *args: object) -> None:
        return None


def no_span(name: str) -> _NoSpan:
    return _NoSpan()


class SearchEngine:
    """Answers search requests from a :class:`DocumentStore` (and an optional :class:`Reranker`)."""

    def __init__(self, store: DocumentStore, reranker: Reranker | None = None, rerank_depth: int = 30) -> None:
        self.store, self.reranker, self.rerank_depth = store, reranker, rerank_depth

    def bm25(self, query: str, depth: int, where: Mapping[str, Any] | None) -> Scores:
        """BM25 scores of the top ``depth`` documents that pass ``where``."""
        if not where:
            return dict(self.store.bm25.search(query, depth))
        everything = self.store.bm25.search(query, max(1, len(self.store)))
        kept = [(d, s) for d, s in everything if matches(self.store.metadata.get(d, {}), where)]
        return dict(kept[:depth])

    def dense(self, vector: NDArray[np.float32], depth: int, where: Mapping[str, Any] | None) -> Scores:
        return dict(self.store.vectors.search(vector, depth, where or None))

    def retrieve(self, query: str, vector: NDArray[np.float32], depth: int) -> tuple[Scores, Scores]:
        """Both retrievers' top ``depth`` (the reranker's training uses this)."""
        return self.bm25(query, depth, None), self.dense(vector, depth, None)

    def search(self, query: str, vector: NDArray[np.float32] | None, *, top_k: int = 10, mode: Mode = "hybrid",
               fusion: Fusion = "rrf", rerank: bool = False, where: Mapping[str, Any] | None = None,
               span: SpanFn = no_span) -> list[SearchHit]:
        """The ranked hits of one request; ``vector`` is needed unless ``mode`` is ``bm25``.

        Raises:
            ValueError: a bad mode, fusion or top_k, a missing vector, or rerank without a trained reranker.
        """
        # BEGIN SOLUTION c08.5: retrieve per mode; fuse; rerank; cut at top_k; ranks and snippets
        if mode not in ("bm25", "dense", "hybrid") or fusion not in ("rrf", "convex"):
            raise ValueError(f"unknown mode {mode!r} or fusion {fusion!r}")
        if top_k < 1:
            raise ValueError(f"top_k must be positive, got {top_k}")
        if mode != "bm25" and vector is None:
            raise ValueError(f"mode {mode!r} needs the query vector")
        if rerank and self.reranker is None:
            raise ValueError("this server was started without the reranker (settings.rerank = false)")
        depth = CANDIDATE_FACTOR * top_k if mode == "hybrid" else top_k
        if rerank:
            depth = max(depth, self.rerank_depth)
        bm25: Scores = {}
        dense: Scores = {}
        with self.store.lock:  # a concurrent write never shows half a document
            if mode in ("bm25", "hybrid"):
                with span("index.bm25"):
                    bm25 = self.bm25(query, depth, where)
            if mode in ("dense", "hybrid") and vector is not None:
                with span("index.dense"):
                    dense = self.dense(vector, depth, where)
            snippets_of = self.store.bm25.snippets
        if mode == "bm25":
            scores = bm25
        elif mode == "dense":
            scores = dense
        elif fusion == "rrf":
            scores = reciprocal_rank_fusion([bm25, dense])
        else:
            scores = convex_combination([bm25, dense])
        if rerank and self.reranker is not None and scores:
            with span("rerank"):
                query_vector = vector if vector is not None else np.zeros(self.store.vectors.dimension, np.float32)
                scores = self.reranker.apply(query, query_vector, bm25, dense, scores, self.rerank_depth)
        best = highest_scores(scores, top_k)
        bm25_rank = {d: r for r, d in enumerate(ranking(bm25), start=1)}
        dense_rank = {d: r for r, d in enumerate(ranking(dense), start=1)}
        with self.store.lock:
            snippets = {s.doc_id: s.html for s in snippets_of(query, [d for d, _ in best])}
        return [SearchHit(d, float(s), str(self.store.metadata.get(d, {}).get("title", "")), snippets[d],
                    {"bm25": bm25_rank.get(d), "dense": dense_rank.get(d)}) for d, s in best]
        # END SOLUTION
