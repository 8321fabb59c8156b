"""One retrieval system over one collection: BM25, dense, and their fusions, with the same API.

:class:`RetrievalSystem` owns the three pieces built in the earlier tasks:

* a tantivy BM25 index in ``<workdir>/bm25``,
* the MiniLM encoder (document vectors come from the embedding cache after the first run),
* a Qdrant collection in ``<workdir>/qdrant`` (embedded), or on a server given by URL,

and answers a raw query in any *mode*: ``bm25``, ``dense`` or ``hybrid``, the hybrid mode
fusing both lists with a *fusion*: ``rrf`` (reciprocal rank fusion) or ``convex`` (a convex
combination of normalised scores). These are the words c08's ``/search`` takes too (``mode``,
``fusion``, ``top_k``). The reranker of :mod:`~c06_retrieval_tools.rerank` builds on
:meth:`candidates`. The hybrid mode takes ``CANDIDATE_FACTOR * top_k`` candidates from each retriever.

The indexes in ``workdir`` are reused when they hold as many documents as the
collection (a second run starts in seconds); give each collection its own folder.

An empty query, or one with no indexable term (punctuation, stopwords), gives an
empty BM25 list; the dense side still answers, because MiniLM embeds any text.
The empty string returns ``[]`` in every mode: there is nothing to look for.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from c06_retrieval_tools.bm25_tantivy import BadIndexError, TantivyBM25
from c06_retrieval_tools.collection import Collection, Hit
from c06_retrieval_tools.encoder import MiniLMEncoder
from c06_retrieval_tools.fusion import CANDIDATE_FACTOR, Scores, convex_combination, reciprocal_rank_fusion
from c06_retrieval_tools.fusion import top_k as highest_scores  # ``top_k`` is the searches' parameter here
from c06_retrieval_tools.vector_store import QdrantStore

MODES = ("bm25", "dense", "hybrid")  # which retrievers answer
FUSIONS = ("rrf", "convex")  # how the hybrid mode merges their lists


@dataclass
class Candidates:
    """What both retrievers returned for one query (the input of fusion and reranking)."""

    query: str
    bm25: Scores
    dense: Scores
    vector: NDArray[np.float32]  # (384,) the query's MiniLM vector, zeros for an empty query


class RetrievalSystem:
    """BM25 + dense retrieval over ``collection``, indexes kept under ``workdir``.

    Args:
        collection: the documents to index.
        workdir: folder for the BM25 index and the embedded Qdrant store.
        encoder: a MiniLM encoder (default: a new one with the disk cache).
        qdrant_url: use a Qdrant server instead of the embedded store.
        progress: show progress bars while indexing.
    """

    bm25_index: TantivyBM25
    store: QdrantStore

    def __init__(self, collection: Collection, workdir: Path | str, encoder: MiniLMEncoder | None = None, *,
                 qdrant_url: str | None = None, progress: bool = False) -> None:
        self.collection = collection
        self.workdir = Path(workdir)
        self.encoder = encoder or MiniLMEncoder()
        # BEGIN SOLUTION c06.5: open or build the BM25 index; encode documents; fill the vector store
        bm25_dir = self.workdir / "bm25"
        existing: TantivyBM25 | None = None
        with contextlib.suppress(BadIndexError):  # missing or damaged: rebuilt below
            existing = TantivyBM25.open(bm25_dir)
        if existing is not None and existing.num_docs == len(collection):
            self.bm25_index = existing
        else:
            # Release the stale index (its reader watches the directory) before replacing its files.
            existing = None
            self.bm25_index = TantivyBM25.create(bm25_dir, overwrite=True)
            self.bm25_index.add(collection.documents, progress=progress)
        path = None if qdrant_url else self.workdir / "qdrant"
        self.store = QdrantStore(f"c06-{collection.name}", self.encoder.dimension, path=path, url=qdrant_url)
        if self.store.count() != len(collection):
            vectors = self.encoder.encode([doc.text for doc in collection.documents])  # (n_docs, 384)
            self.store.add(collection.doc_ids, vectors, [{"title": doc.title} for doc in collection.documents])
        # END SOLUTION

    def bm25(self, query: str, top_k: int = 10) -> list[Hit]:
        return self.bm25_index.search(query, top_k)

    def query_vector(self, query: str) -> NDArray[np.float32]:
        """(384,) MiniLM vector of a query, never cached (a query's cost includes it); zeros for ""."""
        if not query.strip():
            return np.zeros(self.encoder.dimension, dtype=np.float32)
        vector: NDArray[np.float32] = self.encoder.encode([query], cached=False)[0]
        return vector

    def dense(self, query: str, top_k: int = 10, vector: NDArray[np.float32] | None = None) -> list[Hit]:
        """Nearest documents to the query's vector (computed here unless given); [] for an empty query."""
        if not query.strip():
            return []
        return self.store.search(self.query_vector(query) if vector is None else vector, top_k)

    def candidates(self, query: str, depth: int) -> Candidates:
        """The top ``depth`` of each retriever, and the query vector."""
        vector = self.query_vector(query)
        return Candidates(query, dict(self.bm25(query, depth)), dict(self.dense(query, depth, vector)), vector)

    def search(self, query: str, top_k: int = 10, mode: str = "hybrid", fusion: str = "rrf", *,
               weights: Sequence[float] | None = None, depth: int | None = None) -> list[Hit]:
        """The ``top_k`` best documents for a raw query in one of ``MODES``.

        ``fusion`` (one of ``FUSIONS``) merges the two lists in the ``hybrid`` mode; ``weights``
        (BM25's, then dense's) and ``depth`` (candidates per retriever, default
        ``CANDIDATE_FACTOR * top_k``) tune it. Raises ValueError naming the allowed values for an
        unknown mode or fusion, and for ``top_k < 1``.
        """
        # BEGIN SOLUTION c06.5: check mode, fusion, top_k; dispatch; fuse CANDIDATE_FACTOR * top_k per side
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}: use one of {', '.join(map(repr, MODES))}")
        if fusion not in FUSIONS:
            raise ValueError(f"unknown fusion {fusion!r}: use one of {', '.join(map(repr, FUSIONS))}")
        if top_k < 1:
            raise ValueError(f"top_k must be positive, got {top_k}")
        if mode == "bm25":
            return self.bm25(query, top_k)
        if mode == "dense":
            return self.dense(query, top_k)
        found = self.candidates(query, depth or CANDIDATE_FACTOR * top_k)
        lists = [found.bm25, found.dense]
        if fusion == "rrf":
            return highest_scores(reciprocal_rank_fusion(lists, weights=weights), top_k)
        return highest_scores(convex_combination(lists, weights=weights), top_k)
        # END SOLUTION
