"""Vector stores: Qdrant (embedded on disk, or a server by URL) and a brute-force numpy baseline.

Dense retrieval needs "the k stored vectors nearest to this one". For unit
vectors, nearest by cosine = largest dot product, so the baseline is one matrix
product over every stored vector: exact, and fast up to ~10^5 vectors on a CPU.
Past that, or when vectors must be filtered by payload, shared between processes
or spread over machines, a vector database takes over.

Qdrant runs two ways with the *same* client code:

* **embedded local mode** (the default here): ``QdrantClient(path=...)`` keeps the
  collection in a folder, in this process, with no server. It locks the folder,
  so a process may hold only one client per path: :func:`qdrant_client_for` shares
  one client per location, and every client is closed at interpreter exit.
* **a Qdrant server**: ``QdrantClient(url=...)``; HNSW indexing, sharding and
  replication are how the index grows past one machine.

Qdrant point ids must be unsigned ints or UUIDs, so each document id maps to a
UUID5 and travels in the payload as ``doc_id``. Payload filters
(``where={"field": value}``) restrict a search to matching points.

Every ``add`` validates the whole batch (dimension, finite values, unique ids)
before writing anything, so a bad batch raises and leaves the store as it was.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from qdrant_client import QdrantClient, models

from c06_retrieval_tools.collection import Hit  # here: (doc id, cosine similarity)

Payload = dict[str, Any]
UPSERT_BATCH = 256
_NAMESPACE = uuid.UUID("6ba7b811-9dad-11d1-80b4-00c04fd430c8")  # uuid.NAMESPACE_URL
_CLIENTS: dict[str, QdrantClient] = {}
_CLIENTS_LOCK = threading.Lock()


def point_id(doc_id: str) -> str:
    """The Qdrant point id (a UUID5) of a document id: stable across runs and processes."""
    return str(uuid.uuid5(_NAMESPACE, doc_id))


def qdrant_client_for(path: Path | str | None = None, url: str | None = None) -> QdrantClient:
    """The one client of this process for a folder (embedded mode) or a server URL."""
    if (path is None) == (url is None):
        raise ValueError("give exactly one of path (embedded Qdrant) or url (a Qdrant server)")
    key = f"url:{url}" if url is not None else f"path:{Path(str(path)).resolve()}"
    with _CLIENTS_LOCK:
        if key not in _CLIENTS:
            _CLIENTS[key] = QdrantClient(url=url) if url is not None else QdrantClient(path=str(path))
        return _CLIENTS[key]


def close_clients() -> None:
    """Close every client this process opened (runs at exit; safe to call twice)."""
    with _CLIENTS_LOCK:
        for client in _CLIENTS.values():
            with contextlib.suppress(Exception):
                client.close()
        _CLIENTS.clear()


atexit.register(close_clients)


def check_vectors(vectors: NDArray[Any], dimension: int, what: str = "vectors") -> NDArray[np.float32]:
    """(n, dimension) finite float32 rows, or a ValueError that says what is wrong."""
    # BEGIN SOLUTION c06.4: 2-D, the right width, finite; return float32
    array = np.asarray(vectors, dtype=np.float32)
    if array.ndim != 2:
        raise ValueError(f"{what} must be a 2-D array (n, {dimension}), got shape {array.shape}")
    if array.shape[1] != dimension:
        raise ValueError(f"{what} have dimension {array.shape[1]}, but the store holds {dimension}-d vectors")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{what} contain NaN or infinity")
    return array
    # END SOLUTION


def _check_ids(doc_ids: Sequence[str], n: int) -> None:
    if len(doc_ids) != n:
        raise ValueError(f"{len(doc_ids)} ids for {n} vectors")
    if any(not isinstance(d, str) or not d for d in doc_ids) or len(set(doc_ids)) != n:
        raise ValueError("document ids must be unique, non-empty strs")


class QdrantStore:
    """A Qdrant collection of unit vectors with payloads, searched by cosine similarity.

    Args:
        name: the collection name.
        dimension: vector length (384 for MiniLM); an existing collection must match.
        path: folder for embedded mode (the default mode); ``url``: a Qdrant server instead.
    """

    client: QdrantClient  # shared with every store of this process on the same folder or server

    def __init__(self, name: str, dimension: int, *, path: Path | str | None = None, url: str | None = None) -> None:
        self.name, self.dimension = name, dimension
        # BEGIN SOLUTION c06.4: shared client; create the collection or check the existing one's size
        if dimension < 1:
            raise ValueError(f"dimension must be positive, got {dimension}")
        self.client = qdrant_client_for(path, url)
        if self.client.collection_exists(name):
            params = self.client.get_collection(name).config.params.vectors
            size = params.size if isinstance(params, models.VectorParams) else None
            if size != dimension:
                raise ValueError(f"collection {name!r} holds {size}-d vectors, not {dimension}-d")
        else:
            self.client.create_collection(name, vectors_config=models.VectorParams(
                size=dimension, distance=models.Distance.COSINE))
        # END SOLUTION

    def add(self, doc_ids: Sequence[str], vectors: NDArray[Any], payloads: Sequence[Payload] | None = None) -> None:
        """Insert or replace points; validates the whole batch before writing any of it."""
        # BEGIN SOLUTION c06.4: validate everything first; then upsert in batches, doc_id in the payload
        array = check_vectors(vectors, self.dimension)
        _check_ids(doc_ids, len(array))
        payloads = list(payloads) if payloads is not None else [{} for _ in doc_ids]
        if len(payloads) != len(array) or any(not isinstance(p, Mapping) for p in payloads):
            raise ValueError("give one payload dict per vector")
        for start in range(0, len(array), UPSERT_BATCH):
            stop = start + UPSERT_BATCH
            self.client.upsert(self.name, wait=True, points=models.Batch(
                ids=[point_id(d) for d in doc_ids[start:stop]],
                vectors=array[start:stop].tolist(),
                payloads=[{**p, "doc_id": d} for d, p in zip(doc_ids[start:stop], payloads[start:stop], strict=True)],
            ))
        # END SOLUTION

    @staticmethod
    def _filter(where: Mapping[str, Any] | None) -> models.Filter | None:
        """``{"field": value}`` (all must match; a list value matches any of its items)."""
        if not where:
            return None
        conditions: list[models.Condition] = [
            models.FieldCondition(key=key, match=models.MatchAny(any=list(value)) if isinstance(value, list | tuple)
                                  else models.MatchValue(value=value))
            for key, value in where.items()
        ]
        return models.Filter(must=conditions)

    def search(self, vector: NDArray[Any], top_k: int = 10, where: Mapping[str, Any] | None = None) -> list[Hit]:
        """The ``top_k`` most similar stored vectors (optionally among points whose payload matches ``where``)."""
        # BEGIN SOLUTION c06.4: check the vector and top_k; query_points with the filter; map to doc ids
        query = check_vectors(np.asarray(vector).reshape(1, -1), self.dimension, "the query vector")[0]
        if top_k < 1:
            raise ValueError(f"top_k must be positive, got {top_k}")
        response = self.client.query_points(self.name, query=query.tolist(), limit=top_k,
                                            query_filter=self._filter(where), with_payload=["doc_id"])
        return [(str((p.payload or {})["doc_id"]), float(p.score)) for p in response.points]
        # END SOLUTION

    def count(self) -> int:
        return int(self.client.count(self.name, exact=True).count)


class NumpyStore:
    """The brute-force baseline: all vectors in one (n, d) matrix, exact search by one matrix product."""

    def __init__(self, dimension: int) -> None:
        self.dimension = dimension
        self.doc_ids: list[str] = []
        self.matrix = np.zeros((0, dimension), dtype=np.float32)  # (n, d), unit rows

    def add(self, doc_ids: Sequence[str], vectors: NDArray[Any], payloads: Sequence[Payload] | None = None) -> None:
        # BEGIN SOLUTION c06.4: validate; normalise rows; append (ids must stay unique)
        array = check_vectors(vectors, self.dimension)
        _check_ids(doc_ids, len(array))
        if set(doc_ids) & set(self.doc_ids):
            raise ValueError("document ids already in the store")
        norms = np.linalg.norm(array, axis=1, keepdims=True)
        self.matrix = np.vstack([self.matrix, array / np.maximum(norms, 1e-12)])
        self.doc_ids += list(doc_ids)
        # END SOLUTION

    def search(self, vector: NDArray[Any], top_k: int = 10) -> list[Hit]:
        """The ``top_k`` most similar stored vectors, exactly."""
        # BEGIN SOLUTION c06.4: cosine against every row; top_k by argpartition, then sort those
        query = check_vectors(np.asarray(vector).reshape(1, -1), self.dimension, "the query vector")[0]
        if top_k < 1:
            raise ValueError(f"top_k must be positive, got {top_k}")
        scores = self.matrix @ (query / max(float(np.linalg.norm(query)), 1e-12))  # (n,)
        k = min(top_k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k] if k else np.zeros(0, dtype=np.int64)
        top = top[np.lexsort((top, -scores[top]))]  # by score, then by row: deterministic
        return [(self.doc_ids[i], float(scores[i])) for i in top]
        # END SOLUTION

    def count(self) -> int:
        return len(self.doc_ids)
