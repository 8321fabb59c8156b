"""Shared fixtures: Cranfield, the encoder, and the runs each mode produces, computed once per session.

Cranfield is read through the data home (``CURRICULUM_DATA_HOME``; ``make`` and CI point it at the
shared copy). Document embeddings come from the encoder's disk cache after the first run (about a
minute on two cores the first time), so later runs of the suite are fast.

The fixtures of each task use only that task's code and the earlier tasks', so a learner who has
finished c06.4 sees c06.4's tests pass whatever the state of c06.5 to c06.7.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from c06_retrieval_tools import (
    Collection,
    MiniLMEncoder,
    QdrantStore,
    Run,
    TantivyBM25,
    load_cranfield,
)

RUN_DEPTH = 100  # documents per query in each run: MAP@100 and recall@100 need 100


@pytest.fixture(scope="session", autouse=True)
def _offline() -> None:
    """Nothing may download at run time (sentence-transformers, the oracle, looks at the hub otherwise)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def cranfield() -> Collection:
    return load_cranfield()


@pytest.fixture(scope="session")
def encoder() -> MiniLMEncoder:
    return MiniLMEncoder()


@pytest.fixture(scope="session")
def bm25_index(cranfield: Collection, tmp_path_factory: pytest.TempPathFactory) -> TantivyBM25:
    index = TantivyBM25.create(tmp_path_factory.mktemp("bm25") / "index")
    index.add(cranfield.documents, progress=True)
    return index


@pytest.fixture(scope="session")
def bm25_run(cranfield: Collection, bm25_index: TantivyBM25) -> Run:
    return bm25_index.search_many(cranfield.queries, RUN_DEPTH)


@pytest.fixture(scope="session")
def doc_vectors(cranfield: Collection, encoder: MiniLMEncoder) -> np.ndarray:
    return encoder.encode([doc.text for doc in cranfield.documents])  # (1400, 384), cached on disk


@pytest.fixture(scope="session")
def query_vectors(cranfield: Collection, encoder: MiniLMEncoder) -> np.ndarray:
    return encoder.encode(list(cranfield.queries.values()))  # (225, 384)


@pytest.fixture(scope="session")
def dense_store(cranfield: Collection, doc_vectors: np.ndarray,
                tmp_path_factory: pytest.TempPathFactory) -> QdrantStore:
    store = QdrantStore("cranfield", doc_vectors.shape[1], path=tmp_path_factory.mktemp("qdrant"))
    store.add(cranfield.doc_ids, doc_vectors, [{"title": d.title} for d in cranfield.documents])
    return store


@pytest.fixture(scope="session")
def dense_run(cranfield: Collection, dense_store: QdrantStore, query_vectors: np.ndarray) -> Run:
    return {qid: dict(dense_store.search(vector, RUN_DEPTH))
            for qid, vector in zip(cranfield.queries, query_vectors, strict=True)}
